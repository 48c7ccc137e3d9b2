// EventTail: follows a JSON-lines file another process appends to (picket's --events), handing
// out complete lines only. A partial last line waits for its newline; a file that does not exist
// yet is simply empty; a line longer than `kMaxLine` is cut there and reported as such (counted),
// so a runaway writer cannot grow the demo's memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"

namespace picket::demo {

class EventTail {
 public:
  static constexpr size_t kMaxLine = 1 << 20;
  explicit EventTail(std::string path) : path_(std::move(path)) {}

  // The complete lines appended since the last call (without their newline; empty lines skipped).
  std::vector<std::string> poll();
  // Also hands out a final line without a newline (call once the writer has stopped).
  std::vector<std::string> drain();

  uint64_t overlong_lines() const noexcept { return overlong_; }

 private:
  std::vector<std::string> read_lines(bool final);
  std::string path_;
  core::UniqueFd fd_;
  std::string partial_;
  bool skipping_ = false;  // inside an overlong line: drop until its newline
  uint64_t overlong_ = 0;
};

}  // namespace picket::demo
