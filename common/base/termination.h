// Waiting for SIGINT / SIGTERM in a server process without doing work in a
// signal handler: block both in every thread (call block_termination_signals
// first in main, before any thread starts, so that threads inherit the
// mask), then wait for one with wait_for_termination_signal.
#pragma once

namespace pdserve {

void block_termination_signals();
// Returns the signal number (SIGINT or SIGTERM).
int wait_for_termination_signal();

}  // namespace pdserve
