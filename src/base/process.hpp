#pragma once
// Child processes cairn starts and stops itself (a local anvil or ganache, the tests' nodes):
// one way to fork and exec, so that every child gets the same care — its own process group
// (a terminal's Ctrl-C reaches cairn, which then stops it in order), standard input from
// /dev/null, its output appended to a file, and, unless told otherwise, a SIGTERM from the
// kernel when the thread that started it is gone however it went (SIGKILL, a crash).

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace cairn::process {

struct SpawnOptions {
  std::filesystem::path output = "/dev/null";  // standard output and error, appended
  bool die_with_parent = true;                 // PR_SET_PDEATHSIG: SIGTERM when we go
};

// Starts argv[0] (a path; PATH is not searched) with `argv`. The child's pid, or an error
// when fork fails; an exec that fails shows as the child exiting with status 127.
[[nodiscard]] Result<pid_t> spawn(std::vector<std::string> argv, const SpawnOptions& options = {});

// Whether `pid` is a live process (any process: signals can be sent to it).
[[nodiscard]] bool alive(pid_t pid);

// SIGTERM, then SIGKILL after about two seconds; reaps the child when it is ours. A process
// already gone is not an error.
Status stop(pid_t pid);

}  // namespace cairn::process
