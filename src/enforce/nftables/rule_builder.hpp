// Building blocks of picket's nftables objects (internal to src/enforce/nftables): sets, base
// chains and rules written expression by expression with libnftnl. ruleset.cpp (bans, rate
// limits) and scan_trap.cpp (the kernel's own scan trap) use them.
#pragma once

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables::detail {

// nft's datatype numbers (so `nft list` prints keys as addresses, protocols and ports).
inline constexpr uint32_t kTypeIpv4 = 7;
inline constexpr uint32_t kTypeIpv6 = 8;
inline constexpr uint32_t kTypeInetProto = 12;
inline constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t concat_type(uint32_t a, uint32_t b) { return (a << 6) | b; }
constexpr uint32_t concat_type(uint32_t a, uint32_t b, uint32_t c) { return (((a << 6) | b) << 6) | c; }

inline constexpr uint32_t kReg1 = NFT_REG_1;
// NFT_REG32_00: concatenations fill consecutive 32-bit registers (the first is NFT_REG_1's start).
inline constexpr uint32_t kReg32_00 = 8;
inline constexpr uint8_t kNfprotoV4 = NFPROTO_IPV4;
inline constexpr uint8_t kNfprotoV6 = NFPROTO_IPV6;
// Set ids tie a rule to a set created in the same transaction; one block of them per table.
inline constexpr uint32_t kSetIdBase = 0x7069636b;  // "pick"

struct SetSpec {
  std::string_view name;
  uint32_t key_type;
  uint32_t key_len;
  uint32_t flags;        // NFT_SET_*
  bool limit_map = false;
  uint32_t id = 0;
  uint32_t size = 0;     // 0 = unbounded (sets picket fills itself); dynamic sets need a bound
};
void append_set(Transaction& tx, std::string_view table, const SetSpec& spec);
// A base chain of type filter, policy accept (created if missing, kept if present).
void append_base_chain(Transaction& tx, std::string_view table, std::string_view chain, uint32_t hook, int priority);
// Deletes every rule of `chain` (the rules are then re-added in the same transaction).
void append_flush_chain(Transaction& tx, std::string_view table, std::string_view chain);

class RuleBuilder {
 public:
  RuleBuilder(std::string_view table, std::string_view chain, const char* comment) : r_(nftnl_rule_alloc()) {
    nftnl_rule_set_str(r_.get(), NFTNL_RULE_TABLE, std::string(table).c_str());
    nftnl_rule_set_str(r_.get(), NFTNL_RULE_CHAIN, std::string(chain).c_str());
    nftnl_rule_set_u32(r_.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    std::unique_ptr<nftnl_udata_buf, UdataFree> ud(nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8));
    nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, comment);
    nftnl_rule_set_data(r_.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
  }
  RuleBuilder& meta(uint32_t key, uint32_t dreg) {
    nftnl_expr* e = add("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
    return *this;
  }
  RuleBuilder& cmp_eq(const void* data, uint32_t len) {
    nftnl_expr* e = add("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    return *this;
  }
  RuleBuilder& cmp_u8(uint8_t v) { return cmp_eq(&v, 1); }
  RuleBuilder& payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
    nftnl_expr* e = add("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
    return *this;
  }
  RuleBuilder& mask_u8(uint8_t mask) {
    uint8_t zero = 0;
    nftnl_expr* e = add("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
    return *this;
  }
  // Matches when the key in `sreg` is in `set` (or, `negate`, when it is not).
  RuleBuilder& lookup(std::string_view set, uint32_t set_id, uint32_t sreg = kReg1, bool negate = false) {
    nftnl_expr* e = add("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, std::string(set).c_str());
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
    if (negate) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    return *this;
  }
  // Adds (or, `update`, adds and refreshes the timeout of) the key in `sreg` to a dynamic set with
  // `timeout_ms`. With `over_per_second` set, the element carries a "limit rate over N/second
  // burst B packets" and the rule goes on only while that limit is exceeded.
  RuleBuilder& dynset(std::string_view set, uint32_t set_id, uint32_t sreg, bool update, uint64_t timeout_ms,
                      uint32_t over_per_second = 0, uint32_t burst = 0) {
    nftnl_expr* e = add("dynset");
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, update ? NFT_DYNSET_OP_UPDATE : NFT_DYNSET_OP_ADD);
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, std::string(set).c_str());
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
    nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, timeout_ms);
    if (over_per_second > 0) {
      nftnl_expr* limit = nftnl_expr_alloc("limit");
      nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_RATE, over_per_second);
      nftnl_expr_set_u64(limit, NFTNL_EXPR_LIMIT_UNIT, 1);  // per second
      nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_BURST, burst);
      nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
      nftnl_expr_set_u32(limit, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);  // "over": matches above the rate
      nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, limit, 0);                 // the dynset owns it
    }
    return *this;
  }
  // Looks the concatenation starting at NFT_REG32_00 up in a map of limit objects.
  RuleBuilder& limit_map(std::string_view map, uint32_t set_id) {
    nftnl_expr* e = add("objref");
    nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_SREG, kReg32_00);
    nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_SET_NAME, std::string(map).c_str());
    nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_SET_ID, set_id);
    return *this;
  }
  RuleBuilder& counter() {
    add("counter");
    return *this;
  }
  RuleBuilder& verdict(int code) {
    nftnl_expr* e = add("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
    return *this;
  }
  RuleBuilder& counter_drop() { return counter().verdict(NF_DROP); }
  void append_to(Transaction& tx, std::string what) {
    nlmsghdr* nlh = tx.begin_message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK);
    nftnl_rule_nlmsg_build_payload(nlh, r_.get());
    tx.end_message(nlh, std::move(what));
  }

 private:
  struct RuleFree { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
  struct UdataFree { void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); } };
  nftnl_expr* add(const char* name) {
    nftnl_expr* e = nftnl_expr_alloc(name);
    nftnl_rule_add_expr(r_.get(), e);  // the rule owns it
    return e;
  }
  std::unique_ptr<nftnl_rule, RuleFree> r_;
};

}  // namespace picket::enforce::nftables::detail
