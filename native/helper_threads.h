// Threads kept for the vector searches' parallel passes (fp32 and compact top-k), started on first use and parked
// between searches, instead of a thread made per search. Measured in a Node process: a thread made per search often
// started 1–2.6 ms late and shared the CPU of the thread that made it for a while, so half of a 5 ms search ran late;
// with parked threads that are woken instead, the same search took 6.4–7.1 ms in place of 8.4–9.6 (BENCHMARKS.md).
#pragma once

#include <cstddef>
#include <functional>

namespace fastembed {

// Runs part(0) … part(parts − 1), part 0 on the calling thread and the rest on helper threads (the caller also takes
// parts no helper has started yet), and returns when all are done. Safe to call from several threads at once.
void RunParts(size_t parts, const std::function<void(size_t)>& part);

}  // namespace fastembed
