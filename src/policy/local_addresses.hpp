// The host's own addresses and its default gateways, which policy allowlists automatically in
// the daemon (a ban on them would cut the host off). Read from the kernel: getifaddrs() for the
// addresses, /proc/net/route and /proc/net/ipv6_route for the gateways.
#pragma once

#include <string_view>
#include <vector>

#include "core/ip_address.hpp"

namespace picket::policy {

// Host prefixes (/32, /128) of every address on every interface of this network namespace.
std::vector<core::Prefix> local_addresses();
// local_addresses(), and the host prefix of each default gateway.
std::vector<core::Prefix> local_addresses_and_gateways();

// Parsers for the /proc files (exposed for tests): default-route gateways only.
std::vector<core::IpAddress> parse_proc_net_route(std::string_view text);
std::vector<core::IpAddress> parse_proc_net_ipv6_route(std::string_view text);

}  // namespace picket::policy
