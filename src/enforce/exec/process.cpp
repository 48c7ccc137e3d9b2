#include "enforce/exec/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/unique_fd.hpp"

extern char** environ;

namespace picket::enforce::exec {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// Keeps up to `max` bytes in `dst`; true when something had to be dropped.
void keep(std::string& dst, const char* p, size_t n, size_t max, bool& truncated) {
  size_t room = dst.size() < max ? max - dst.size() : 0;
  if (n > room) truncated = true;
  dst.append(p, n < room ? n : room);
}

class SpawnActions {
 public:
  SpawnActions() { ok_ = posix_spawn_file_actions_init(&a_) == 0; }
  ~SpawnActions() {
    if (ok_) posix_spawn_file_actions_destroy(&a_);
  }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  bool ok() const { return ok_; }
  posix_spawn_file_actions_t* get() { return &a_; }

 private:
  posix_spawn_file_actions_t a_{};
  bool ok_ = false;
};

}  // namespace

core::Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::string_view stdin_text,
                                        core::Duration timeout, size_t max_output) {
  if (argv.empty() || argv[0].empty()) return core::make_error("run: empty command");
  for (const auto& a : argv) {
    // A NUL would silently cut the argument short in execve; refuse instead.
    if (a.find('\0') != std::string::npos) return core::make_error("run: an argument contains a NUL byte");
  }
  int in_pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) < 0) {
    return core::make_error("run: socketpair: " + errno_text(errno));
  }
  core::UniqueFd in_parent(in_pair[0]), in_child(in_pair[1]);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) < 0) return core::make_error("run: pipe: " + errno_text(errno));
  core::UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) < 0) return core::make_error("run: pipe: " + errno_text(errno));
  core::UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  SpawnActions actions;
  if (!actions.ok()) return core::make_error("run: posix_spawn_file_actions_init failed");
  // dup2 clears CLOEXEC on the target descriptor; every other descriptor of ours is CLOEXEC.
  if (posix_spawn_file_actions_adddup2(actions.get(), in_child.get(), 0) != 0 ||
      posix_spawn_file_actions_adddup2(actions.get(), out_w.get(), 1) != 0 ||
      posix_spawn_file_actions_adddup2(actions.get(), err_w.get(), 2) != 0) {
    return core::make_error("run: posix_spawn_file_actions_adddup2 failed");
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  if (int e = posix_spawnp(&pid, args[0], actions.get(), nullptr, args.data(), environ); e != 0) {
    return core::make_error(fmt::format("run {}: {}", argv[0], errno_text(e)));
  }
  in_child.reset();
  out_w.reset();
  err_w.reset();
  if (stdin_text.empty()) in_parent.reset();
  fcntl(in_parent.get(), F_SETFL, O_NONBLOCK);

  ProcessResult r;
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::nanoseconds(timeout.ns);
  size_t written = 0;
  char buf[16384];
  bool expired = false;
  while (out_r.valid() || err_r.valid()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      expired = true;
      break;
    }
    pollfd p[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in_parent.valid()) p[idx_in = n++] = pollfd{in_parent.get(), POLLOUT, 0};
    if (out_r.valid()) p[idx_out = n++] = pollfd{out_r.get(), POLLIN, 0};
    if (err_r.valid()) p[idx_err = n++] = pollfd{err_r.get(), POLLIN, 0};
    int rc = poll(p, static_cast<nfds_t>(n), static_cast<int>(left > 1000 ? 1000 : left + 1));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    if (idx_in >= 0 && p[idx_in].revents != 0) {
      ssize_t w = send(in_parent.get(), stdin_text.data() + written, stdin_text.size() - written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) written += static_cast<size_t>(w);
      // EPIPE: the child stopped reading; its exit status tells what happened.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size()) in_parent.reset();
    }
    auto drain = [&](int idx, core::UniqueFd& fd, std::string& dst) {
      if (idx < 0 || p[idx].revents == 0) return;
      ssize_t got = read(fd.get(), buf, sizeof buf);
      if (got > 0) {
        keep(dst, buf, static_cast<size_t>(got), max_output, r.truncated);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    };
    drain(idx_out, out_r, r.out);
    drain(idx_err, err_r, r.err);
  }
  in_parent.reset();
  int status = 0;
  pid_t w = 0;
  do {
    w = waitpid(pid, &status, expired ? WNOHANG : 0);
  } while (w < 0 && errno == EINTR);
  if (w == 0) {
    // Still running at the deadline: kill exactly the child we started, then reap it.
    kill(pid, SIGKILL);
    r.timed_out = true;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFEXITED(status)) {
    r.exit_code = r.timed_out ? -1 : WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

std::string describe_failure(const ProcessResult& r, core::Duration timeout, size_t max_chars) {
  std::string head;
  if (r.timed_out) {
    head = fmt::format("timed out after {} (killed)", core::format_duration(timeout));
  } else if (r.signal != 0) {
    head = fmt::format("killed by signal {}", r.signal);
  } else {
    head = fmt::format("exit status {}", r.exit_code);
  }
  std::string text = r.err.empty() ? r.out : r.err;
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!text.empty() && text.front() == ' ') text.erase(0, 1);
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  else if (r.truncated) text += "...";
  return text.empty() ? head : head + ": " + text;
}

std::string quote_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>(){}*?") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'') out += "'\\''";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '\'';
  }
  return out;
}

}  // namespace picket::enforce::exec
