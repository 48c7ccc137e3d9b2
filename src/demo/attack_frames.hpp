// The simulator's attacks as real packets: pick one attacker's frames out of a simulated scenario
// (the capture holds both directions; only what the attacker sends is replayed — the victim's
// kernel makes its own replies), keep their relative timing, and send them on a packet socket.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "core/unique_fd.hpp"
#include "demo/frame_rewrite.hpp"
#include "demo/process.hpp"

namespace picket::demo {

struct TimedFrame {
  core::Duration at;  // since the attacker's first frame
  std::vector<uint8_t> bytes;
};

struct AttackShape {
  uint64_t max_frames = 5000;                       // keep at most this many (the first ones)
  core::Duration max_span = core::Duration::seconds(5);  // squeeze longer attacks into this
};

// Runs `scenario` through the simulator (seed 1, its default size and rate) and returns the frames
// whose IPv4/IPv6 source is `attacker`, in order. An unknown scenario is an Error; a scenario in
// which `attacker` sends nothing gives an Error too (a demo phase without packets is a bug).
core::Result<std::vector<TimedFrame>> attacker_frames(std::string_view scenario, const core::IpAddress& attacker,
                                                      const AttackShape& shape = {});

// Pure timing helper: scales times so the last one is at most `max_span` (earlier ones keep
// their proportions). Times already within `max_span` are unchanged.
void squeeze_timing(std::vector<TimedFrame>& frames, core::Duration max_span) noexcept;

struct SendStats {
  uint64_t sent = 0;
  uint64_t send_errors = 0;      // sendto failed (e.g. ENOBUFS); counted, not fatal
  uint64_t rewrite_errors = 0;   // a frame the rewriter refused (not sent)
  int first_errno = 0;
};

// A packet socket bound to interface `ifname` in namespace `netns`.
core::Result<core::UniqueFd> open_packet_socket(const std::string& netns, const std::string& ifname);

// Sends `frames` (rewritten by `rw`) on `fd`, each at its `at` after the call starts, until done
// or `stop` is set.
SendStats send_frames(int fd, std::vector<TimedFrame>& frames, const FrameRewriter& rw, const StopFlag& stop);

}  // namespace picket::demo
