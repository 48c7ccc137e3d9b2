// Set elements as picket writes and reads them: keys for addresses, prefixes (interval start/end
// pairs) and rate-limit tuples, encoded into NFT_MSG_{NEW,DEL,DESTROY}SETELEM messages and
// decoded from NFT_MSG_GETSETELEM dumps. Written with libmnl directly: one message per ~60 KiB of
// elements (a netlink attribute nest cannot exceed 64 KiB), no allocation per element.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/time.hpp"

struct nlmsghdr;

namespace picket::enforce::nftables {

class Transaction;

struct Element {
  std::array<uint8_t, 24> key{};
  uint8_t key_len = 0;
  bool interval_end = false;  // NFT_SET_ELEM_INTERVAL_END: closes the interval the previous element opened
  uint64_t timeout_ms = 0;    // 0 = none (the element lives until deleted)
  std::string objref;         // rate-limit maps: name of the limit object
  std::string comment;        // shown by `nft list` (NFTNL_UDATA_SET_ELEM_COMMENT)
};

// What a dump (or a message picket built) says about one element.
struct ParsedElement {
  std::array<uint8_t, 24> key{};
  uint8_t key_len = 0;
  bool interval_end = false;
  uint64_t timeout_ms = 0;
  uint64_t expires_ms = 0;  // time left (NFTA_SET_ELEM_EXPIRATION)
  std::string objref;
  std::string comment;
};

struct ParsedElements {
  std::string table;
  std::string set;
  std::vector<ParsedElement> elements;
};

// Appends messages of `type` (NFT_MSG_NEWSETELEM, DELSETELEM or kMsgDestroySetElem) carrying
// `elements` for `set`, as many elements per message as fit. `one_per_message` puts each element
// in its own message (deletes on kernels without DESTROY: an absent element then fails alone).
void append_elements(Transaction& tx, uint16_t type, uint16_t flags, std::string_view table, std::string_view set,
                     std::span<const Element> elements, std::string_view verb, bool may_be_absent,
                     bool one_per_message = false);

// Decodes one NEWSETELEM / GETSETELEM message. nullopt when it is not well formed.
std::optional<ParsedElements> parse_elements(const nlmsghdr& nlh);

// A dump request for the elements of `set`.
std::vector<uint8_t> build_get_elements(uint32_t seq, std::string_view table, std::string_view set);

// --- keys ---------------------------------------------------------------------------------------
Element address_element(const core::IpAddress& a);
// A prefix as an interval: the start element, and the end element (first address past the
// prefix) unless the prefix runs to the top of the address space.
std::vector<Element> prefix_elements(const core::Prefix& p);
// Rate-limit map key: address . proto . port, each field padded to 4 bytes as nft registers are.
Element rate_limit_element(const core::IpAddress& target, uint8_t proto, uint16_t port);
core::IpAddress address_from_key(const uint8_t* key, uint8_t key_len);

// The CIDR prefixes that exactly cover [start, end) (end empty = to the top of the space).
std::vector<core::Prefix> range_to_prefixes(const core::IpAddress& start, const std::optional<core::IpAddress>& end);
// Turns an interval set's elements (any order) back into prefixes with their remaining time.
struct PrefixEntry {
  core::Prefix prefix;
  uint64_t expires_ms = 0;
  std::string comment;
};
std::vector<PrefixEntry> intervals_to_prefixes(std::vector<ParsedElement> elements, core::Family family);

}  // namespace picket::enforce::nftables
