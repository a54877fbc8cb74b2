// The model a benchmark embeds with: the trained all-MiniLM-L6-v2 (npm run models:trained) when present, else the
// random-weight model of the same shape (the speed is the same, only the first gives meaningful vectors).
// FASTEMBED_BENCH_MODEL picks another folder.
import fs from 'node:fs';
import path from 'node:path';

export function benchModel(root: string, shared: string): { modelDir: string; trained: boolean } {
  const trainedModel = path.join(process.env.FASTEMBED_TRAINED_DIR ?? path.join(root, '.models', 'trained'), 'all-MiniLM-L6-v2');
  const modelDir =
    process.env.FASTEMBED_BENCH_MODEL ?? (fs.existsSync(path.join(trainedModel, 'model.onnx')) ? trainedModel : path.join(shared, 'models', 'minilm-l6-shape'));
  return { modelDir, trained: !modelDir.startsWith(shared) };
}
