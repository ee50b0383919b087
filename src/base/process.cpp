#include "base/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace cairn::process {

Result<pid_t> spawn(std::vector<std::string> argv, const SpawnOptions& options) {
  if (argv.empty()) return fail(Errc::invalid_argument, "spawn: no program");
  const std::string output = options.output.string();
  std::vector<char*> pointers;
  for (auto& argument : argv)
    pointers.push_back(argument.data());
  pointers.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return fail(Errc::io, "cannot start " + argv[0] + ": fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls from here on (the parent may have threads).
    ::setpgid(0, 0);
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);  // the parent was gone before the line above
    }
    const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  return pid;
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

Status stop(pid_t pid) {
  if (pid <= 0) return {};
  if (::kill(pid, SIGTERM) != 0) return {};  // already gone
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid || (reaped < 0 && !alive(pid))) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return {};
}

}  // namespace cairn::process
