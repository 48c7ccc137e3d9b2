#include "demo/event_tail.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace picket::demo {

std::vector<std::string> EventTail::poll() { return read_lines(false); }
std::vector<std::string> EventTail::drain() { return read_lines(true); }

std::vector<std::string> EventTail::read_lines(bool final) {
  std::vector<std::string> out;
  if (!fd_.valid()) {
    fd_.reset(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_.valid()) return out;
  }
  char buf[65536];
  // Bounded per call: a writer faster than the reader is caught up with over several calls.
  for (int round = 0; round < 64; ++round) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      char c = buf[i];
      if (c == '\n') {
        if (skipping_) {
          skipping_ = false;
        } else if (!partial_.empty()) {
          out.push_back(std::move(partial_));
        }
        partial_.clear();
        continue;
      }
      if (skipping_) continue;
      if (partial_.size() >= kMaxLine) {
        out.push_back(std::move(partial_));  // the cut part: its reader will find it unreadable
        partial_.clear();
        ++overlong_;
        skipping_ = true;
        continue;
      }
      partial_.push_back(c);
    }
  }
  if (final && !partial_.empty()) {
    out.push_back(std::move(partial_));
    partial_.clear();
  }
  return out;
}

}  // namespace picket::demo
