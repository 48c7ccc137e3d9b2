// `picket init`: the wizard (init_wizard.cpp) on the terminal, and the file written safely.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/init_wizard.hpp"
#include "core/unique_fd.hpp"

namespace picket::app {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

core::Result<void> write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::make_error(errno_text(errno));
    text.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Writes `text` to `path` with mode 0640 (it can name mail accounts and webhook secrets).
// Without `force` the file is created exclusively, so an existing file is never replaced; with it
// the text goes to a temporary file first and is renamed over the old one, so a reader never sees
// half a file.
core::Result<void> write_config(const std::string& path, std::string_view text, bool force) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return core::make_error(fmt::format("cannot create {}: {}", p.parent_path().string(), ec.message()));
  }
  const std::string tmp = force ? path + ".picket-init.tmp" : path;
  core::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!fd.valid()) {
    const int err = errno;
    if (err == EEXIST && !force) return core::make_error(fmt::format("{} exists; --force replaces it", path));
    return core::make_error(fmt::format("cannot create {}: {}", tmp, errno_text(err)));
  }
  auto fail = [&](std::string what) -> core::Result<void> {
    ::unlink(tmp.c_str());
    return core::make_error(fmt::format("cannot write {}: {}", tmp, what));
  };
  if (::fchmod(fd.get(), 0640) != 0) return fail(errno_text(errno));  // the umask may have taken bits
  if (auto w = write_all(fd.get(), text); !w) return fail(w.error().message);
  if (::fsync(fd.get()) != 0) return fail(errno_text(errno));
  if (force && ::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno_text(errno));
  return {};
}

}  // namespace

int cmd_init(const InitOptions& opts) {
  if (opts.out.empty()) {
    fmt::print(stderr, "picket: init: --out needs a file name\n");
    return kExitBadInput;
  }
  // Refuse before the questions rather than after them.
  struct stat st {};
  if (::lstat(opts.out.c_str(), &st) == 0 && !opts.force) {
    fmt::print(stderr, "picket: init: {} exists; --force replaces it\n", opts.out);
    return kExitFailure;
  }
  if (::lstat(opts.out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    fmt::print(stderr, "picket: init: {} is a directory\n", opts.out);
    return kExitBadInput;
  }

  const InitWizard wizard(full_schema(), host_interfaces(), host_name());
  InitAnswers answers;
  if (opts.defaults) {
    answers = wizard.defaults();
  } else {
    auto asked = wizard.ask(std::cin, std::cout);
    if (!asked) {
      fmt::print(stderr, "picket: init: {}; nothing written{}\n", asked.error().message,
                 ::isatty(STDIN_FILENO) ? "" : " (without a terminal, --defaults writes every default)");
      return kExitFailure;
    }
    answers = std::move(*asked);
  }
  auto text = wizard.render(answers);
  if (!text) {
    fmt::print(stderr, "picket: init: the configuration would not load (a bug; nothing written):\n{}\n",
               text.error().message);
    return kExitFailure;
  }
  if (auto w = write_config(opts.out, *text, opts.force); !w) {
    fmt::print(stderr, "picket: init: {}\n", w.error().message);
    return kExitFailure;
  }
  fmt::print(
      "\nWrote {} (profile {}). Check it with `picket check-config {}`, start with "
      "`picket run --config {}`.\n",
      opts.out, config::profile_name(answers.profile), opts.out, opts.out);
  // The daemon does not make directories for its output files: say so now, not at its first start.
  for (const char* key : {"output.events_file", "output.log_file"}) {
    const auto* v = answers.find(key);
    const auto* file = v != nullptr ? std::get_if<std::string>(v) : nullptr;
    if (file == nullptr || file->empty() || *file == "-") continue;
    const auto dir = std::filesystem::path(*file).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec))
      fmt::print(
          "Note: {} does not exist yet. contrib/systemd/picket.service creates it (LogsDirectory=); "
          "otherwise: mkdir -m 0750 {}\n",
          dir.string(), dir.string());
    break;  // both default into the same directory; one note is enough
  }
  return kExitOk;
}

}  // namespace picket::app
