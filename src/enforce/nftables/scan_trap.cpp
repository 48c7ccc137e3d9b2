#include "enforce/nftables/scan_trap.hpp"

#include <fmt/format.h>
#include <libmnl/libmnl.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "enforce/nftables/rule_builder.hpp"
#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables {

using namespace detail;  // NOLINT: the rule builder's vocabulary throughout

namespace {

// Set ids after the ban sets' (ruleset.cpp uses kSetIdBase + 0..5).
constexpr uint32_t kIdTrap4 = kSetIdBase + 6;
constexpr uint32_t kIdTrap6 = kSetIdBase + 7;
constexpr uint32_t kIdSeen4 = kSetIdBase + 8;
constexpr uint32_t kIdSeen6 = kSetIdBase + 9;
constexpr uint32_t kIdFail4 = kSetIdBase + 10;
constexpr uint32_t kIdFail6 = kSetIdBase + 11;
constexpr uint32_t kIdExempt4 = kSetIdBase + 12;
constexpr uint32_t kIdExempt6 = kSetIdBase + 13;

struct FamilySpec {
  uint8_t nfproto;
  uint32_t daddr_offset, addr_len;
  std::string_view trap, seen, fail, exempt;
  uint32_t id_trap, id_seen, id_fail, id_exempt;
  const char* skip_comment;
  const char* count_comment;
};
constexpr FamilySpec kFamilies[] = {
    {kNfprotoV4, 16, 4, kSetTrap4, kSetTrapSeen4, kSetTrapFail4, kSetTrapExempt4, kIdTrap4, kIdSeen4, kIdFail4,
     kIdExempt4, "picket scan trap: IPv4 closed port already counted",
     "picket scan trap: IPv4 closed-port replies (RST|ACK seq 0)"},
    {kNfprotoV6, 24, 16, kSetTrap6, kSetTrapSeen6, kSetTrapFail6, kSetTrapExempt6, kIdTrap6, kIdSeen6, kIdFail6,
     kIdExempt6, "picket scan trap: IPv6 closed port already counted",
     "picket scan trap: IPv6 closed-port replies (RST|ACK seq 0)"},
};

// nfproto, TCP, flags & (fin|syn|rst|ack) == rst|ack, sequence number 0: a closed port's reply.
RuleBuilder& match_closed_port_reply(RuleBuilder& b, uint8_t nfproto) {
  const uint32_t zero = 0;
  b.meta(NFT_META_NFPROTO, kReg1).cmp_u8(nfproto).meta(NFT_META_L4PROTO, kReg1).cmp_u8(IPPROTO_TCP);
  b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, kReg1).mask_u8(0x17).cmp_u8(0x14);
  b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 4, 4, kReg1).cmp_eq(&zero, 4);
  return b;
}

// daddr . sport (the scanner, the closed port) into the registers from NFT_REG32_00.
RuleBuilder& load_scanner_port(RuleBuilder& b, const FamilySpec& f) {
  return b.payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr_offset, f.addr_len, kReg32_00)
      .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, kReg32_00 + f.addr_len / 4);
}

void append_flush_set(Transaction& tx, std::string_view table, std::string_view set) {
  nlmsghdr* nlh = tx.begin_message(NFT_MSG_DELSETELEM, NLM_F_ACK, 256);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, std::string(table).c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, std::string(set).c_str());
  tx.end_message(nlh, fmt::format("flush set {}", set));
}

using Key = std::array<uint8_t, 16>;
Key key_of(const Element& e) {
  Key k{};
  std::memcpy(k.data(), e.key.data(), e.key_len);
  return k;
}

}  // namespace

void append_trap_objects(Transaction& tx, std::string_view table) {
  const uint32_t dyn = NFT_SET_EVAL | NFT_SET_TIMEOUT;
  const SetSpec sets[] = {
      {kSetTrap4, kTypeIpv4, 4, dyn, false, kIdTrap4, kTrapSetSize},
      {kSetTrap6, kTypeIpv6, 16, dyn, false, kIdTrap6, kTrapSetSize},
      {kSetTrapSeen4, concat_type(kTypeIpv4, kTypeInetService), 8, dyn, false, kIdSeen4, kTrapSetSize},
      {kSetTrapSeen6, concat_type(kTypeIpv6, kTypeInetService), 20, dyn, false, kIdSeen6, kTrapSetSize},
      {kSetTrapFail4, kTypeIpv4, 4, dyn, false, kIdFail4, kTrapSetSize},
      {kSetTrapFail6, kTypeIpv6, 16, dyn, false, kIdFail6, kTrapSetSize},
      {kSetTrapExempt4, kTypeIpv4, 4, NFT_SET_INTERVAL, false, kIdExempt4, 0},
      {kSetTrapExempt6, kTypeIpv6, 16, NFT_SET_INTERVAL, false, kIdExempt6, 0},
  };
  for (const auto& s : sets) append_set(tx, table, s);
  // Priority raw at postrouting: before any NAT, so the daddr is the scanner's real address.
  append_base_chain(tx, table, kChainTrap, NF_INET_POST_ROUTING, -300);
}

void append_trap_drop_rules(Transaction& tx, std::string_view table, std::string_view chain) {
  RuleBuilder(table, chain, "picket: scan trap, IPv4").meta(NFT_META_NFPROTO, kReg1).cmp_u8(kNfprotoV4)
      .payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, kReg1).lookup(kSetTrap4, kIdTrap4).counter_drop()
      .append_to(tx, "add rule ip saddr @trap4 drop");
  RuleBuilder(table, chain, "picket: scan trap, IPv6").meta(NFT_META_NFPROTO, kReg1).cmp_u8(kNfprotoV6)
      .payload(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, kReg1).lookup(kSetTrap6, kIdTrap6).counter_drop()
      .append_to(tx, "add rule ip6 saddr @trap6 drop");
}

void append_trap_rules(Transaction& tx, std::string_view table, const ScanTrap& trap) {
  append_flush_chain(tx, table, kChainTrap);
  for (const auto& f : kFamilies) {
    append_flush_set(tx, table, f.exempt);
    if (!trap.enabled) {
      // Switched off: nothing stays trapped, no half-counted source carries over.
      append_flush_set(tx, table, f.trap);
      append_flush_set(tx, table, f.seen);
      append_flush_set(tx, table, f.fail);
      continue;
    }
    const core::Family family = f.addr_len == 4 ? core::Family::v4 : core::Family::v6;
    auto exempt = merged_interval_elements(trap.exempt, family);
    append_elements(tx, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, table, f.exempt, exempt, "add", false);

    RuleBuilder skip(table, kChainTrap, f.skip_comment);
    match_closed_port_reply(skip, f.nfproto);
    load_scanner_port(skip, f).lookup(f.seen, f.id_seen, kReg32_00).verdict(NFT_RETURN)
        .append_to(tx, fmt::format("add rule {}", f.skip_comment));

    RuleBuilder count(table, kChainTrap, f.count_comment);
    match_closed_port_reply(count, f.nfproto);
    count.payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr_offset, f.addr_len, kReg1)
        .lookup(f.exempt, f.id_exempt, kReg1, true);
    load_scanner_port(count, f).dynset(f.seen, f.id_seen, kReg32_00, false, kTrapMemoryMs);
    count.payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr_offset, f.addr_len, kReg1)
        .dynset(f.fail, f.id_fail, kReg1, true, kTrapMemoryMs, kTrapRefillPerSecond, trap.closed_ports)
        .dynset(f.trap, f.id_trap, kReg1, false, trap.hold_ms)
        .counter()
        .append_to(tx, fmt::format("add rule {}", f.count_comment));
  }
}

std::vector<Element> merged_interval_elements(std::span<const core::Prefix> prefixes, core::Family family) {
  struct Range {
    Element start;
    std::optional<Element> end;  // nullopt: to the top of the address space
  };
  std::vector<Range> ranges;
  for (const auto& p : prefixes) {
    if (p.address().family() != family) continue;
    auto els = prefix_elements(p);
    Range r{els.front(), std::nullopt};
    if (els.size() > 1) r.end = els[1];
    ranges.push_back(std::move(r));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return key_of(a.start) < key_of(b.start); });
  std::vector<Range> merged;
  for (auto& r : ranges) {
    if (!merged.empty()) {
      Range& cur = merged.back();
      // Overlapping or touching (the next starts where the current ends): one range.
      if (!cur.end || key_of(r.start) <= key_of(*cur.end)) {
        if (cur.end && (!r.end || key_of(*r.end) > key_of(*cur.end))) cur.end = r.end;
        continue;
      }
    }
    merged.push_back(std::move(r));
  }
  std::vector<Element> out;
  for (auto& r : merged) {
    out.push_back(std::move(r.start));
    if (r.end) out.push_back(std::move(*r.end));
  }
  return out;
}

}  // namespace picket::enforce::nftables
