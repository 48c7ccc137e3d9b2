// The blocklist detector: traffic from or to addresses on configured lists (threat feeds,
// FireHOL netsets, Spamhaus DROP, IOC lists, inline addresses).
//
// Every packet's source and destination are looked up (longest-prefix match, blocklists.hpp).
// A hit opens a record per (actor, listed address, direction):
//  - "blocklisted_source": packets FROM a listed address (severity high),
//  - "blocklisted_destination": packets TO a listed address, e.g. a compromised host calling out
//    (severity medium).
// In both, the finding's source is the listed address (what a ban would target) and its target
// the other side. One first report per record, then updates every update_interval while packets
// keep coming; a record idle for idle_timeout ends, and the next packet starts a new one.
// Problems loading the lists are not the detector's to print: see blocklists.hpp (load_lists).
#pragma once

#include <memory>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "detect/detector.hpp"

namespace picket::detect::blocklist {

// Keys under "detect.blocklist.".
void declare_config(config::Schema& schema);
// nullptr when detect.blocklist.enabled is false. Never throws: lists that cannot be read are
// reported by load_lists(cfg) and skipped (with no list at all, the detector sees nothing).
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::blocklist
