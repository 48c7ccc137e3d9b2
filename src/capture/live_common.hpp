// LiveSourceCommon: what the AF_PACKET and libpcap live sources share — the interfaces, the
// eventfd that interrupt() writes, the wait, the error / finished state and the plain accessors.
// Internal to src/capture.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture/live_source.hpp"
#include "core/unique_fd.hpp"

namespace picket::capture::detail {

class LiveSourceCommon : public LiveSource {
 public:
  int link_type() const noexcept override { return link_type_; }
  uint32_t snaplen() const noexcept override { return snaplen_; }
  const std::optional<core::Error>& error() const noexcept override { return error_; }
  uint64_t filtered_out() const noexcept override { return 0; }  // the filter runs in the kernel
  std::string_view name() const noexcept override { return name_; }
  void set_wait(std::chrono::milliseconds wait) noexcept override { wait_ = std::max(wait.count(), int64_t{0}); }
  bool finished() const noexcept override { return finished_.load(std::memory_order_acquire); }
  void interrupt() noexcept override {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(event_fd_.get(), &one, sizeof one);
  }

 protected:
  // `prefix` names the method ("afpacket:", "pcap:"); the interfaces follow, comma-separated.
  LiveSourceCommon(std::string prefix, std::vector<std::string> ifaces, core::UniqueFd event_fd, int link_type,
                   uint32_t snaplen)
      : ifaces_(std::move(ifaces)), event_fd_(std::move(event_fd)), link_type_(link_type), snaplen_(snaplen) {
    name_ = std::move(prefix);
    for (size_t i = 0; i < ifaces_.size(); ++i) name_ += (i ? "," : "") + ifaces_[i];
  }

  // Ends the source for good with `message` (read_batch returns 0 from now on).
  void fail(std::string message) noexcept {
    if (finished()) return;
    try {
      error_ = core::Error{std::move(message)};
    } catch (...) {
      error_ = core::Error{};
    }
    finished_.store(true, std::memory_order_release);
  }

  std::vector<std::string> ifaces_;
  core::UniqueFd event_fd_;
  std::string name_;
  std::optional<core::Error> error_;
  std::atomic<bool> finished_{false};
  int link_type_;
  uint32_t snaplen_;
  int64_t wait_ = 100;
};

}  // namespace picket::capture::detail
