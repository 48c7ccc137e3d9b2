// Test helpers for the alert tests: events, a config built from YAML, a temporary directory, and
// a child process (the loopback receivers under testing/) killed by its PID.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alert/settings.hpp"
#include "config/config.hpp"
#include "output/event.hpp"

namespace picket::alert::testing {

inline output::Event make_alert(std::string detector, std::string_view src, int severity = 1,
                                std::string signature = "picket: test finding") {
  output::Event e;
  e.type = output::EventType::alert;
  e.ts = core::Timestamp::from_parts(1'764'000'000, 123'456'000);
  e.src_ip = *core::IpAddress::parse(src);
  e.dest_ip = *core::IpAddress::parse("198.51.100.7");
  e.src_port = 40000;
  e.dest_port = 22;
  e.proto = 6;
  e.alert = output::AlertInfo{std::move(signature), "Network Scan", severity, 1001, "allowed"};
  e.picket = {{"detector", std::move(detector)}, {"evidence", {{"distinct_ports", 120}}}};
  return e;
}

inline output::Event make_decision(std::string detector, std::string_view target) {
  output::Event e;
  e.type = output::EventType::decision;
  e.ts = core::Timestamp::from_parts(1'764'000'001, 0);
  e.src_ip = *core::IpAddress::parse(target);
  e.body = {{"action", "block"}, {"target", std::string(target)}, {"scope", "address"},
            {"duration", 600.0}, {"detector", detector},          {"reason", "test"}};
  e.picket = {{"detector", std::move(detector)}};
  return e;
}

inline config::Schema alert_schema() {
  config::Schema s;
  declare_config(s);
  return s;
}

// The config from YAML, or the loader's errors joined by newlines.
struct Loaded {
  std::optional<config::Config> config;
  std::string errors;
};
inline Loaded load_yaml(const std::string& yaml) {
  static const config::Schema schema = alert_schema();
  auto r = config::load_string(schema, yaml, "test.yaml");
  Loaded out;
  out.config = std::move(r.config);
  for (const auto& e : r.errors) out.errors += e.to_string() + "\n";
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "picket-alert-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `done` every 20 ms until it is true or `limit` passes; returns its last value.
inline bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A child process with its stdout on a pipe; SIGKILLed and reaped by PID in the destructor.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      int devnull = ::open("/dev/null", O_WRONLY);
      if (devnull >= 0 && std::getenv("PICKET_TEST_VERBOSE") == nullptr) ::dup2(devnull, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // One line of the child's stdout (without '\n'), or nullopt after `limit` or at EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + limit;
    std::string line;
    while (out_ >= 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line += c;
    }
    return std::nullopt;
  }
  // Reads the receivers' "PORT <n>" line; 0 on failure.
  int read_port() {
    auto line = read_line();
    if (!line || !line->starts_with("PORT ")) return 0;
    return std::atoi(line->c_str() + 5);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

inline std::string helper_script(const char* name) {
  return std::string(PICKET_SOURCE_DIR) + "/src/alert/testing/" + name;
}

// A python3 that can run `import module`, or "" (the test then skips and says why).
inline std::string python_with(const std::string& module) {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    std::string cmd = std::string(py) + " -c 'import " + module + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

}  // namespace picket::alert::testing
