// syn_flood: one source that leaves many TCP handshakes half-open (seed 004's SYN flood rule).
//
// Per source (the actor), over a sliding window: its SYN first contacts, the SYN-ACKs its targets
// sent back, the handshakes it completed, and the RSTs it sent to abandon them. A half-open
// handshake is one the target answered with a SYN-ACK and the source neither completed nor reset:
// the state a SYN flood makes its victim hold. Reports (kind "syn_flood", severity high) when
// the half-open count reaches `threshold` while the source completed less than
// `max_completion_ratio` of its SYNs. Retransmitted SYNs count once (the flow tracker's first
// contacts); spoofed floods (one or two SYNs per source) stay far below any threshold and are
// the spoofed_flood detector's job. docs/detectors/syn_flood.md lists keys and evidence.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "detect/detector.hpp"

namespace picket::detect::syn_flood {

// Declares detect.syn_flood.* (enabled, threshold, window, max_completion_ratio, capacity,
// update_interval).
void declare_config(config::Schema& schema);
// The detector, or nullptr when detect.syn_flood.enabled is false.
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::syn_flood
