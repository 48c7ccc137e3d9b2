#include "enforce/nftables/ruleset.hpp"

#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <memory>

#include "enforce/nftables/rule_builder.hpp"
#include "enforce/nftables/scan_trap.hpp"
#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables {

using namespace detail;  // NOLINT: this file builds with them throughout

namespace {

struct TableFree { void operator()(nftnl_table* p) const { nftnl_table_free(p); } };
struct SetFree { void operator()(nftnl_set* p) const { nftnl_set_free(p); } };
struct ChainFree { void operator()(nftnl_chain* p) const { nftnl_chain_free(p); } };
struct RuleFree { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
struct ObjFree { void operator()(nftnl_obj* p) const { nftnl_obj_free(p); } };
struct UdataFree { void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); } };

const char* kTableComment = "managed by picket; remove with: nft delete table inet picket";

std::string z(std::string_view s) { return std::string(s); }

}  // namespace

void detail::append_set(Transaction& tx, std::string_view table, const SetSpec& spec) {
  std::unique_ptr<nftnl_set, SetFree> s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, z(table).c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, z(spec.name).c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, spec.key_type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, spec.key_len);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, spec.flags);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, spec.id);
  if (spec.size > 0) nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, spec.size);
  if (spec.limit_map) nftnl_set_set_u32(s.get(), NFTNL_SET_OBJ_TYPE, NFT_OBJECT_LIMIT);
  nlmsghdr* nlh = tx.begin_message(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_ACK);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  tx.end_message(nlh, fmt::format("create set {}", spec.name));
}

void detail::append_base_chain(Transaction& tx, std::string_view table, std::string_view chain, uint32_t hook,
                               int priority) {
  std::unique_ptr<nftnl_chain, ChainFree> c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, z(table).c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, z(chain).c_str());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
  nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, priority);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  nlmsghdr* nlh = tx.begin_message(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  tx.end_message(nlh, fmt::format("create chain {}", chain));
}

void detail::append_flush_chain(Transaction& tx, std::string_view table, std::string_view chain) {
  std::unique_ptr<nftnl_rule, RuleFree> r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, z(table).c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, z(chain).c_str());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
  nlmsghdr* nlh = tx.begin_message(NFT_MSG_DELRULE, NLM_F_ACK);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  tx.end_message(nlh, fmt::format("flush chain {}", chain));
}

void append_init(Transaction& tx, std::string_view table, const ScanTrap& trap) {
  {
    std::unique_ptr<nftnl_table, TableFree> t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, z(table).c_str());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
    std::unique_ptr<nftnl_udata_buf, UdataFree> ud(nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8));
    nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_TABLE_COMMENT, kTableComment);
    nftnl_table_set_data(t.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
    nlmsghdr* nlh = tx.begin_message(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    tx.end_message(nlh, fmt::format("create table inet {}", table));
  }
  const SetSpec sets[] = {
      {kSetBan4, kTypeIpv4, 4, NFT_SET_TIMEOUT, false, kSetIdBase + 0},
      {kSetBan6, kTypeIpv6, 16, NFT_SET_TIMEOUT, false, kSetIdBase + 1},
      {kSetBanNet4, kTypeIpv4, 4, NFT_SET_TIMEOUT | NFT_SET_INTERVAL, false, kSetIdBase + 2},
      {kSetBanNet6, kTypeIpv6, 16, NFT_SET_TIMEOUT | NFT_SET_INTERVAL, false, kSetIdBase + 3},
      {kMapRate4, concat_type(kTypeIpv4, kTypeInetProto, kTypeInetService), 12,
       NFT_SET_TIMEOUT | NFT_SET_OBJECT, true, kSetIdBase + 4},
      {kMapRate6, concat_type(kTypeIpv6, kTypeInetProto, kTypeInetService), 24,
       NFT_SET_TIMEOUT | NFT_SET_OBJECT, true, kSetIdBase + 5},
  };
  for (const auto& s : sets) append_set(tx, table, s);
  append_trap_objects(tx, table);
  append_base_chain(tx, table, kChain, NF_INET_PRE_ROUTING, kChainPriority);
  // Replace the chain's rules in the same transaction: never doubled, never a gap.
  append_flush_chain(tx, table, kChain);
  const uint8_t tcp = IPPROTO_TCP;
  const uint8_t udp = IPPROTO_UDP;
  // ip saddr @ban4 / @ban_net4, ip6 saddr @ban6 / @ban_net6: source address at offset 12 (v4) or 8 (v6).
  RuleBuilder(table, kChain, "picket: banned IPv4 addresses").meta(NFT_META_NFPROTO, kReg1).cmp_u8(kNfprotoV4)
      .payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, kReg1).lookup(kSetBan4, kSetIdBase + 0).counter_drop()
      .append_to(tx, "add rule ip saddr @ban4 drop");
  RuleBuilder(table, kChain, "picket: banned IPv4 prefixes").meta(NFT_META_NFPROTO, kReg1).cmp_u8(kNfprotoV4)
      .payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, kReg1).lookup(kSetBanNet4, kSetIdBase + 2).counter_drop()
      .append_to(tx, "add rule ip saddr @ban_net4 drop");
  RuleBuilder(table, kChain, "picket: banned IPv6 addresses").meta(NFT_META_NFPROTO, kReg1).cmp_u8(kNfprotoV6)
      .payload(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, kReg1).lookup(kSetBan6, kSetIdBase + 1).counter_drop()
      .append_to(tx, "add rule ip6 saddr @ban6 drop");
  RuleBuilder(table, kChain, "picket: banned IPv6 prefixes").meta(NFT_META_NFPROTO, kReg1).cmp_u8(kNfprotoV6)
      .payload(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, kReg1).lookup(kSetBanNet6, kSetIdBase + 3).counter_drop()
      .append_to(tx, "add rule ip6 saddr @ban_net6 drop");
  append_trap_drop_rules(tx, table, kChain);
  // Rate limits: key daddr . l4proto . dport; TCP counts only SYN without ACK (new connections).
  struct RateRule {
    uint8_t nfproto, proto;
    uint32_t daddr_offset, daddr_len;
    std::string_view map;
    uint32_t set_id;
    const char* comment;
  };
  const RateRule rate_rules[] = {
      {kNfprotoV4, tcp, 16, 4, kMapRate4, kSetIdBase + 4, "picket: rate limits, IPv4 TCP SYN"},
      {kNfprotoV4, udp, 16, 4, kMapRate4, kSetIdBase + 4, "picket: rate limits, IPv4 UDP"},
      {kNfprotoV6, tcp, 24, 16, kMapRate6, kSetIdBase + 5, "picket: rate limits, IPv6 TCP SYN"},
      {kNfprotoV6, udp, 24, 16, kMapRate6, kSetIdBase + 5, "picket: rate limits, IPv6 UDP"},
  };
  for (const auto& rr : rate_rules) {
    RuleBuilder b(table, kChain, rr.comment);
    b.meta(NFT_META_NFPROTO, kReg1).cmp_u8(rr.nfproto).meta(NFT_META_L4PROTO, kReg1).cmp_u8(rr.proto);
    // tcp flags & (fin|syn|rst|ack) == syn
    if (rr.proto == tcp) b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, kReg1).mask_u8(0x17).cmp_u8(0x02);
    const uint32_t words = rr.daddr_len / 4;
    b.payload(NFT_PAYLOAD_NETWORK_HEADER, rr.daddr_offset, rr.daddr_len, kReg32_00)
        .meta(NFT_META_L4PROTO, kReg32_00 + words)
        .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, kReg32_00 + words + 1)
        .limit_map(rr.map, rr.set_id)
        .counter_drop()
        .append_to(tx, fmt::format("add rule {}", rr.comment));
  }
  append_trap_rules(tx, table, trap);
}

void append_delete_table(Transaction& tx, std::string_view table, uint16_t type, bool may_be_absent) {
  std::unique_ptr<nftnl_table, TableFree> t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, z(table).c_str());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nlmsghdr* nlh = tx.begin_message(type, NLM_F_ACK);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  tx.end_message(nlh, fmt::format("delete table inet {}", table), may_be_absent);
}

void append_new_limit(Transaction& tx, std::string_view table, std::string_view name, uint32_t rate_per_second) {
  std::unique_ptr<nftnl_obj, ObjFree> o(nftnl_obj_alloc());
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, z(table).c_str());
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, z(name).c_str());
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_FAMILY, NFPROTO_INET);
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_LIMIT);
  nftnl_obj_set_u64(o.get(), NFTNL_OBJ_LIMIT_RATE, rate_per_second);
  nftnl_obj_set_u64(o.get(), NFTNL_OBJ_LIMIT_UNIT, 1);  // per second
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_LIMIT_BURST, kRateBurst);
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_LIMIT_TYPE, NFT_LIMIT_PKTS);
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_LIMIT_FLAGS, NFT_LIMIT_F_INV);  // "rate over": matches above the rate
  nlmsghdr* nlh = tx.begin_message(NFT_MSG_NEWOBJ, NLM_F_CREATE | NLM_F_ACK);
  nftnl_obj_nlmsg_build_payload(nlh, o.get());
  tx.end_message(nlh, fmt::format("create limit {} ({}/s)", name, rate_per_second));
}

void append_delete_limit(Transaction& tx, std::string_view table, std::string_view name, uint16_t type,
                         bool may_be_absent) {
  std::unique_ptr<nftnl_obj, ObjFree> o(nftnl_obj_alloc());
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, z(table).c_str());
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, z(name).c_str());
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_FAMILY, NFPROTO_INET);
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_LIMIT);
  nlmsghdr* nlh = tx.begin_message(type, NLM_F_ACK);
  nftnl_obj_nlmsg_build_payload(nlh, o.get());
  tx.end_message(nlh, fmt::format("delete limit {}", name), may_be_absent);
}

std::vector<uint8_t> build_get_limits(uint32_t seq, std::string_view table) {
  std::vector<uint8_t> buf(1024);
  std::unique_ptr<nftnl_obj, ObjFree> o(nftnl_obj_alloc());
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, z(table).c_str());
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_LIMIT);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_GETOBJ, NFPROTO_INET,
                                        NLM_F_DUMP | NLM_F_ACK, seq);
  nftnl_obj_nlmsg_build_payload(nlh, o.get());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

std::optional<LimitObject> parse_limit(const nlmsghdr& nlh) {
  std::unique_ptr<nftnl_obj, ObjFree> o(nftnl_obj_alloc());
  if (nftnl_obj_nlmsg_parse(&nlh, o.get()) < 0) return std::nullopt;
  if (!nftnl_obj_is_set(o.get(), NFTNL_OBJ_NAME) || nftnl_obj_get_u32(o.get(), NFTNL_OBJ_TYPE) != NFT_OBJECT_LIMIT) {
    return std::nullopt;
  }
  LimitObject out;
  out.name = nftnl_obj_get_str(o.get(), NFTNL_OBJ_NAME);
  out.rate = nftnl_obj_get_u64(o.get(), NFTNL_OBJ_LIMIT_RATE);
  return out;
}

std::string limit_name(std::string_view address, uint8_t proto, uint16_t port, uint32_t tag) {
  const char* p = proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "proto";
  return fmt::format("rl_{}_{}_{}_{}", address, p, port, tag);
}

}  // namespace picket::enforce::nftables
