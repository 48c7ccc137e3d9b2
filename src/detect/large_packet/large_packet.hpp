// The large_packet detector: frames longer than max_packet_size on the wire, per sender.
//
// A frame counts when it is longer than the threshold (PacketMeta::frame_len: the wire length
// the capture reports, link header included, FCS excluded) and was sent by its actor (the remote
// party: frames the local side sends are its own business, and on a capturing host they are
// TSO/GSO super-segments anyway). Per sender, large frames are counted in a sliding window; once
// the window holds min_frames of them the sender is reported ("large_packet", severity low), then
// updated at most once per update_interval while large frames keep coming. When the window
// empties the episode ends, and the next large frame starts a new one.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "detect/detector.hpp"

namespace picket::detect::large_packet {

// Keys under "detect.large_packet.".
void declare_config(config::Schema& schema);
// nullptr when detect.large_packet.enabled is false.
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::large_packet
