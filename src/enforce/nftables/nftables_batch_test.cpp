// NftablesEnforcer's batch building and error handling, against a fake netlink socket: what goes
// into each transaction, in which order, how kernel errors come back, how dumps become bans.
#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "enforce/nftables/fake_netlink.hpp"
#include "enforce/nftables/nftables_enforcer.hpp"
#include "enforce/nftables/ruleset.hpp"
#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::IpAddress;
using core::Prefix;
using testing::FakeKernel;
using testing::SentMessage;

Prefix pfx(const char* t) { return *Prefix::parse(t); }

Decision make(DecisionAction a, const char* target, Duration d = Duration::seconds(60)) {
  Decision x;
  x.action = a;
  x.target = pfx(target);
  x.duration = d;
  x.detector = "port_scan";
  if (a == DecisionAction::rate_limit || a == DecisionAction::unrate_limit) {
    x.port = 80;
    x.proto = 6;
    x.rate_per_second = 100;
  }
  return x;
}

ParsedElement host_key(const char* addr) {
  Element e = address_element(*IpAddress::parse(addr));
  ParsedElement p;
  p.key = e.key;
  p.key_len = e.key_len;
  return p;
}

struct Collected {
  std::string set;
  std::vector<ParsedElement> elements;
  uint16_t type;
};

// Every element message of a transaction, decoded.
std::vector<Collected> element_messages(const std::vector<SentMessage>& tx) {
  std::vector<Collected> out;
  for (const auto& m : tx) {
    if (m.type != NFT_MSG_NEWSETELEM && m.type != NFT_MSG_DELSETELEM && m.type != kMsgDestroySetElem) continue;
    auto p = parse_elements(m.header());
    EXPECT_TRUE(p.has_value());
    if (p) out.push_back({p->set, p->elements, m.type});
  }
  return out;
}

size_t count_elements(const std::vector<SentMessage>& tx, uint16_t type, std::string_view set) {
  size_t n = 0;
  for (const auto& c : element_messages(tx)) {
    if (c.type == type && c.set == set) n += c.elements.size();
  }
  return n;
}

class NftablesBatchTest : public ::testing::Test {
 protected:
  void SetUp() override { make_enforcer(DeleteMode::automatic); }
  void make_enforcer(DeleteMode mode) {
    kernel_ = std::make_shared<FakeKernel>();
    enforcer_ = std::make_unique<NftablesEnforcer>(NftablesOptions{"picket", mode}, testing::make_fake_socket(kernel_));
  }
  void init() {
    auto r = enforcer_->init();
    ASSERT_TRUE(r) << r.error().message;
    kernel_->transactions.clear();
    kernel_->begin_seqs.clear();
  }
  const std::vector<SentMessage>& last() { return kernel_->transactions.back(); }

  std::shared_ptr<FakeKernel> kernel_;
  std::unique_ptr<NftablesEnforcer> enforcer_;
};

TEST_F(NftablesBatchTest, InitIsOneTransactionThenAProbe) {
  ASSERT_TRUE(enforcer_->init());
  ASSERT_GE(kernel_->transactions.size(), 2u);
  std::vector<uint16_t> types;
  for (const auto& m : kernel_->transactions[0]) types.push_back(m.type);
  std::vector<uint16_t> want = {NFT_MSG_NEWTABLE};
  for (int i = 0; i < 6 + 8; ++i) want.push_back(NFT_MSG_NEWSET);  // bans and rate limits, the trap's
  want.push_back(NFT_MSG_NEWCHAIN);  // the trap's postrouting
  want.push_back(NFT_MSG_NEWCHAIN);  // prerouting
  want.push_back(NFT_MSG_DELRULE);  // flush the chain, then add the rules: never doubled
  for (size_t i = 0; i < kRuleCount; ++i) want.push_back(NFT_MSG_NEWRULE);
  // The trap is off by default: its chain flushed, its sets emptied (exempt, trap, seen, fail per family).
  want.push_back(NFT_MSG_DELRULE);
  for (int i = 0; i < 8; ++i) want.push_back(NFT_MSG_DELSETELEM);
  EXPECT_EQ(types, want);
  for (const auto& m : kernel_->transactions[0]) {
    EXPECT_EQ(m.flags & NLM_F_EXCL, 0) << "creation must not fail when the object exists";
  }
  // The DESTROY probe: one element message on its own transaction; no error = supported.
  ASSERT_EQ(kernel_->transactions[1].size(), 1u);
  EXPECT_EQ(kernel_->transactions[1][0].type, kMsgDestroySetElem);
  EXPECT_TRUE(enforcer_->uses_destroy());
}

TEST_F(NftablesBatchTest, ScanTrapAddsItsRulesAndExemptRangesInOneTransaction) {
  init();
  ScanTrap trap;
  trap.enabled = true;
  trap.closed_ports = 6;
  trap.exempt = {core::Prefix::parse("198.18.0.0/16").value(), core::Prefix::parse("198.18.5.1/32").value(),
                 core::Prefix::parse("2001:db8::/32").value()};
  ASSERT_TRUE(enforcer_->set_scan_trap(trap));
  ASSERT_EQ(kernel_->transactions.size(), 1u);
  std::vector<uint16_t> types;
  for (const auto& m : last()) types.push_back(m.type);
  const std::vector<uint16_t> want = {NFT_MSG_DELRULE,
                                      NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
                                      NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE};
  EXPECT_EQ(types, want);
  EXPECT_EQ(enforcer_->scan_trap().closed_ports, 6u);
  // Switched off again: the rules go and nothing stays trapped.
  kernel_->transactions.clear();
  trap.enabled = false;
  ASSERT_TRUE(enforcer_->set_scan_trap(trap));
  ASSERT_EQ(kernel_->transactions.size(), 1u);
  EXPECT_EQ(std::count_if(last().begin(), last().end(), [](const SentMessage& m) { return m.type == NFT_MSG_NEWRULE; }), 0);
  EXPECT_EQ(std::count_if(last().begin(), last().end(), [](const SentMessage& m) { return m.type == NFT_MSG_DELSETELEM; }), 8);
  trap.closed_ports = 0;
  EXPECT_FALSE(enforcer_->set_scan_trap(trap));
}

TEST_F(NftablesBatchTest, AKernelRefusingTheTrapStillGetsTheBans) {
  // An older kernel: rejects the transaction that carries the trap's counting rules.
  kernel_->answer = [](const std::vector<SentMessage>& msgs, uint32_t) {
    std::vector<KernelAnswer> out;
    const auto rules = std::count_if(msgs.begin(), msgs.end(), [](const SentMessage& m) { return m.type == NFT_MSG_NEWRULE; });
    if (rules > static_cast<long>(kRuleCount)) out.push_back({msgs.back().seq, EOPNOTSUPP, {}});
    return out;
  };
  ScanTrap trap;
  trap.enabled = true;
  ASSERT_TRUE(enforcer_->set_scan_trap(trap));  // not initialised yet: kept for init()
  ASSERT_TRUE(enforcer_->init());
  EXPECT_FALSE(enforcer_->scan_trap().enabled);
  EXPECT_NE(enforcer_->scan_trap_error().find("scan trap"), std::string::npos);
  EXPECT_NE(enforcer_->scan_trap_error().find(std::strerror(EOPNOTSUPP)), std::string::npos) << enforcer_->scan_trap_error();
  Decision d = make(DecisionAction::block, "198.18.0.2/32");
  EXPECT_TRUE(enforcer_->apply(std::span(&d, 1))) << "bans still work";
}

TEST(MergedIntervalElements, MergesOverlappingAndTouchingPrefixesPerFamily) {
  auto P = [](const char* s) { return core::Prefix::parse(s).value(); };
  struct Case {
    std::vector<core::Prefix> in;
    core::Family family;
    std::vector<std::pair<std::string, bool>> want;  // address, interval end
  };
  const Case cases[] = {
      {{}, core::Family::v4, {}},
      {{P("198.18.0.0/24")}, core::Family::v4, {{"198.18.0.0", false}, {"198.18.1.0", true}}},
      // nested: the wider one stands alone
      {{P("198.18.0.1/32"), P("198.18.0.0/16")}, core::Family::v4, {{"198.18.0.0", false}, {"198.19.0.0", true}}},
      // touching: one range (an interval set refuses a start equal to the previous end)
      {{P("198.18.1.0/24"), P("198.18.0.0/24")}, core::Family::v4, {{"198.18.0.0", false}, {"198.18.2.0", true}}},
      // apart: two ranges, sorted
      {{P("198.19.0.0/24"), P("198.18.0.0/24")},
       core::Family::v4,
       {{"198.18.0.0", false}, {"198.18.1.0", true}, {"198.19.0.0", false}, {"198.19.1.0", true}}},
      // to the top of the space: no end element, and it swallows what follows
      {{P("255.0.0.0/8"), P("255.255.0.0/16")}, core::Family::v4, {{"255.0.0.0", false}}},
      // the other family is left out
      {{P("2001:db8::/32"), P("127.0.0.0/8")}, core::Family::v6, {{"2001:db8::", false}, {"2001:db9::", true}}},
  };
  for (const auto& c : cases) {
    auto got = merged_interval_elements(c.in, c.family);
    ASSERT_EQ(got.size(), c.want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(address_from_key(got[i].key.data(), got[i].key_len).to_string(), c.want[i].first);
      EXPECT_EQ(got[i].interval_end, c.want[i].second);
    }
  }
}

TEST_F(NftablesBatchTest, ProbeFailureSelectsDeleteAndRetry) {
  kernel_->answer = [](const std::vector<SentMessage>& msgs, uint32_t) {
    std::vector<KernelAnswer> out;
    for (const auto& m : msgs) {
      if (m.type == kMsgDestroySetElem) out.push_back({m.seq, EINVAL, {}});
    }
    return out;
  };
  ASSERT_TRUE(enforcer_->init());
  EXPECT_FALSE(enforcer_->uses_destroy());
}

TEST_F(NftablesBatchTest, ManyBansGoInOneTransactionOfChunkedMessages) {
  init();
  std::vector<Decision> batch;
  for (uint32_t i = 0; i < 5000; ++i) {
    Decision d = make(DecisionAction::block, "198.19.0.0/32", Duration::micros(1500));
    d.target = Prefix(IpAddress::v4(0xC6130000u + i), 32);
    batch.push_back(d);
  }
  for (uint32_t i = 0; i < 3000; ++i) {
    Decision d = make(DecisionAction::block, "2001:db8::/128");
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
    b[14] = static_cast<uint8_t>(i >> 8);
    b[15] = static_cast<uint8_t>(i);
    d.target = Prefix(IpAddress::v6_bytes(b), 128);
    batch.push_back(d);
  }
  ASSERT_TRUE(enforcer_->apply(batch));
  ASSERT_EQ(kernel_->transactions.size(), 1u);
  const auto& tx = last();
  EXPECT_EQ(count_elements(tx, NFT_MSG_NEWSETELEM, kSetBan4), 5000u);
  EXPECT_EQ(count_elements(tx, NFT_MSG_NEWSETELEM, kSetBan6), 3000u);
  EXPECT_EQ(count_elements(tx, kMsgDestroySetElem, kSetBan4), 5000u);  // refresh = destroy + add
  size_t add_messages = 0;
  bool seen_add = false;
  for (const auto& m : tx) {
    EXPECT_LT(m.bytes.size(), 65536u);
    if (m.type == NFT_MSG_NEWSETELEM) {
      ++add_messages;
      seen_add = true;
    }
    if (m.type == kMsgDestroySetElem) {
      EXPECT_FALSE(seen_add) << "removals come before additions";
    }
  }
  EXPECT_GT(add_messages, 2u);    // chunked...
  EXPECT_LT(add_messages, 100u);  // ...but never one per element
  for (const auto& c : element_messages(tx)) {
    for (const auto& e : c.elements) {
      if (c.type != NFT_MSG_NEWSETELEM) {
        EXPECT_EQ(e.timeout_ms, 0u);
        continue;
      }
      EXPECT_EQ(e.timeout_ms, c.set == kSetBan4 ? 2u : 60000u);  // 1.5 ms rounds up
      EXPECT_EQ(e.comment, "port_scan");
    }
  }
  EXPECT_EQ(enforcer_->stats().elements_added, 8000u);
}

TEST_F(NftablesBatchTest, LaterDecisionsForTheSameTargetWin) {
  init();
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.2"),
                                           make(DecisionAction::unblock, "198.18.0.2"),
                                           make(DecisionAction::unblock, "198.18.0.3"),
                                           make(DecisionAction::block, "198.18.0.3")}));
  const auto& tx = last();
  EXPECT_EQ(count_elements(tx, kMsgDestroySetElem, kSetBan4), 2u);
  auto adds = element_messages(tx);
  std::vector<IpAddress> added;
  for (const auto& c : adds) {
    if (c.type == NFT_MSG_NEWSETELEM) {
      for (const auto& e : c.elements) added.push_back(address_from_key(e.key.data(), e.key_len));
    }
  }
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0], *IpAddress::parse("198.18.0.3"));
}

TEST_F(NftablesBatchTest, PrefixesAreIntervalsAndStayDisjoint) {
  init();
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.1.0/24")}));
  auto msgs = element_messages(last());
  ASSERT_EQ(msgs.size(), 1u);  // nothing to remove yet
  ASSERT_EQ(msgs[0].set, kSetBanNet4);
  ASSERT_EQ(msgs[0].elements.size(), 2u);
  EXPECT_EQ(address_from_key(msgs[0].elements[0].key.data(), 4), *IpAddress::parse("198.18.1.0"));
  EXPECT_FALSE(msgs[0].elements[0].interval_end);
  EXPECT_EQ(msgs[0].elements[0].timeout_ms, 60000u);
  EXPECT_EQ(address_from_key(msgs[0].elements[1].key.data(), 4), *IpAddress::parse("198.18.2.0"));
  EXPECT_TRUE(msgs[0].elements[1].interval_end);
  EXPECT_EQ(msgs[0].elements[1].timeout_ms, 0u);

  // The wider /16 removes the /24 in the same transaction.
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.0/16")}));
  msgs = element_messages(last());
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, kMsgDestroySetElem);
  EXPECT_EQ(address_from_key(msgs[0].elements[0].key.data(), 4), *IpAddress::parse("198.18.1.0"));
  EXPECT_EQ(msgs[1].type, NFT_MSG_NEWSETELEM);
  EXPECT_EQ(address_from_key(msgs[1].elements[1].key.data(), 4), *IpAddress::parse("198.19.0.0"));

  // Inside the /16: covered, nothing sent.
  size_t before = kernel_->transactions.size();
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.7.0/24")}));
  EXPECT_EQ(kernel_->transactions.size(), before);
  EXPECT_EQ(enforcer_->stats().prefixes_covered, 1u);

  // Unblocking a prefix picket does not hold sends nothing (a DESTROY of its start key could
  // otherwise hit the start of a different interval).
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::unblock, "198.18.0.0/24")}));
  EXPECT_EQ(kernel_->transactions.size(), before);
}

TEST_F(NftablesBatchTest, RateLimitCreatesALimitObjectAndAMapElement) {
  init();
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::rate_limit, "198.18.0.1")}));
  const auto& tx = last();
  std::string object;
  for (const auto& m : tx) {
    if (m.type == NFT_MSG_NEWOBJ) {
      auto l = parse_limit(m.header());
      ASSERT_TRUE(l);
      EXPECT_EQ(l->rate, 100u);
      object = l->name;
    }
  }
  ASSERT_FALSE(object.empty());
  EXPECT_TRUE(object.starts_with("rl_198.18.0.1_tcp_80_")) << object;
  bool found = false;
  for (const auto& c : element_messages(tx)) {
    if (c.type != NFT_MSG_NEWSETELEM) continue;
    ASSERT_EQ(c.set, kMapRate4);
    ASSERT_EQ(c.elements.size(), 1u);
    const auto& e = c.elements[0];
    EXPECT_EQ(e.objref, object);
    EXPECT_EQ(e.key_len, 12);
    EXPECT_EQ(e.key[4], 6);                        // proto, padded to 4 bytes
    EXPECT_EQ((e.key[8] << 8) | e.key[9], 80);     // port, big endian
    found = true;
  }
  EXPECT_TRUE(found);
}

struct BadDecision {
  const char* name;
  Decision decision;
  const char* expect;
};

TEST_F(NftablesBatchTest, InvalidDecisionsSendNothing) {
  init();
  Decision no_target;
  Decision negative = make(DecisionAction::block, "198.18.0.2", Duration::seconds(-1));
  Decision too_long = make(DecisionAction::block, "198.18.0.2", core::Duration::seconds(int64_t{20} * 365 * 86400));
  Decision bad_proto = make(DecisionAction::rate_limit, "198.18.0.1");
  bad_proto.proto = 1;
  Decision no_port = make(DecisionAction::rate_limit, "198.18.0.1");
  no_port.port = 0;
  Decision no_rate = make(DecisionAction::rate_limit, "198.18.0.1");
  no_rate.rate_per_second = 0;
  Decision net_rate = make(DecisionAction::rate_limit, "198.18.0.0/24");
  const BadDecision cases[] = {
      {"no target", no_target, "no address"},
      {"negative", negative, "negative duration"},
      {"too long", too_long, "10 years"},
      {"bad proto", bad_proto, "proto 1"},
      {"no port", no_port, "port 0"},
      {"no rate", no_rate, "rate 0"},
      {"prefix rate", net_rate, "one address"},
  };
  for (const auto& c : cases) {
    // A good decision before the bad one is not applied either.
    auto r = enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.9"), c.decision});
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << c.name << ": " << r.error().message;
    EXPECT_TRUE(r.error().message.starts_with("nftables: invalid decision")) << r.error().message;
  }
  EXPECT_TRUE(kernel_->transactions.empty());
}

struct KernelErrorCase {
  const char* name;
  bool on_begin;
  int error;
  const char* expect;
};

TEST_F(NftablesBatchTest, KernelErrorsKeepTheirErrnoText) {
  const KernelErrorCase cases[] = {
      {"not root", true, EPERM, "Operation not permitted (changing nftables needs CAP_NET_ADMIN"},
      {"no nf_tables", true, EOPNOTSUPP, "nftables not available"},
      {"element", false, ENOSPC, "add element 198.18.0.2 to set ban4: No space left on device"},
  };
  for (const auto& c : cases) {
    make_enforcer(DeleteMode::destroy);
    init();
    kernel_->answer = [&](const std::vector<SentMessage>& msgs, uint32_t begin) {
      if (c.on_begin) return std::vector<KernelAnswer>{{begin, c.error, {}}};
      std::vector<KernelAnswer> out;
      for (const auto& m : msgs) {
        if (m.type == NFT_MSG_NEWSETELEM) out.push_back({m.seq, c.error, "element rejected"});
      }
      return out;
    };
    auto r = enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.2")});
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << c.name << ": " << r.error().message;
    if (!c.on_begin) {
      EXPECT_NE(r.error().message.find("[kernel: element rejected]"), std::string::npos);
    }
    EXPECT_EQ(kernel_->transactions.size(), 1u) << "errors that are not 'absent' are not retried";
  }
}

TEST_F(NftablesBatchTest, DeleteAndRetryDropsAbsentDeletesAndResends) {
  make_enforcer(DeleteMode::delete_and_retry);
  init();
  kernel_->answer = [](const std::vector<SentMessage>& msgs, uint32_t) {
    std::vector<KernelAnswer> out;
    for (const auto& m : msgs) {
      if (m.type == NFT_MSG_DELSETELEM) out.push_back({m.seq, ENOENT, {}});
    }
    return out;
  };
  Decision escalate = make(DecisionAction::block, "198.18.0.2");
  escalate.offence = 2;
  ASSERT_TRUE(enforcer_->apply(std::vector{escalate, make(DecisionAction::block, "198.18.0.3"),
                                           make(DecisionAction::unblock, "198.18.0.4")}));
  ASSERT_EQ(kernel_->transactions.size(), 2u);
  // First try: one delete per element (escalation and unblock; a first offence adds only).
  size_t deletes = 0;
  for (const auto& m : kernel_->transactions[0]) deletes += m.type == NFT_MSG_DELSETELEM;
  EXPECT_EQ(deletes, 2u);
  EXPECT_EQ(count_elements(kernel_->transactions[0], NFT_MSG_DELSETELEM, kSetBan4), 2u);
  // Resent without them; the additions stay.
  EXPECT_EQ(count_elements(kernel_->transactions[1], NFT_MSG_DELSETELEM, kSetBan4), 0u);
  EXPECT_EQ(count_elements(kernel_->transactions[1], NFT_MSG_NEWSETELEM, kSetBan4), 2u);
  EXPECT_EQ(kernel_->begin_seqs[0], kernel_->begin_seqs[1]);
  EXPECT_EQ(enforcer_->stats().retries, 1u);

  // An ENOENT on an addition is a real error: no retry.
  kernel_->answer = [](const std::vector<SentMessage>& msgs, uint32_t) {
    std::vector<KernelAnswer> out;
    for (const auto& m : msgs) {
      if (m.type == NFT_MSG_NEWSETELEM) out.push_back({m.seq, ENOENT, {}});
    }
    return out;
  };
  kernel_->transactions.clear();
  auto r = enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.5")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("No such file or directory"), std::string::npos) << r.error().message;
  EXPECT_EQ(kernel_->transactions.size(), 1u);
}

TEST_F(NftablesBatchTest, ListTurnsDumpsIntoBans) {
  init();
  ParsedElement a = host_key("198.18.0.2");
  a.expires_ms = 42'000;
  a.comment = "syn_flood";
  ParsedElement b = host_key("198.18.0.3");  // no timeout
  kernel_->sets[std::string(kSetBan4)] = {a, b};
  ParsedElement v6 = host_key("2001:db8::2");
  v6.expires_ms = 1'500;
  kernel_->sets[std::string(kSetBan6)] = {v6};
  // An interval pair, end before start as the kernel may dump them, plus an end whose start expired.
  ParsedElement start = host_key("198.18.4.0");
  start.expires_ms = 9'000;
  ParsedElement end = host_key("198.18.8.0");
  end.interval_end = true;
  ParsedElement orphan = host_key("198.18.20.0");
  orphan.interval_end = true;
  kernel_->sets[std::string(kSetBanNet4)] = {orphan, end, start};

  auto r = enforcer_->list();
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, core::Ban> by;
  for (const auto& ban : *r) by[ban.target.to_string()] = ban;
  ASSERT_EQ(by.size(), 4u);
  EXPECT_EQ(by["198.18.0.2/32"].remaining, Duration::seconds(42));
  EXPECT_EQ(by["198.18.0.2/32"].detector, "syn_flood");
  EXPECT_EQ(by["198.18.0.3/32"].remaining, Duration{});
  EXPECT_EQ(by["2001:db8::2/128"].remaining, Duration::millis(1500));
  EXPECT_EQ(by["198.18.4.0/22"].remaining, Duration::seconds(9));

  kernel_->malformed_dump = true;
  auto bad = enforcer_->list();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("malformed"), std::string::npos) << bad.error().message;

  kernel_->malformed_dump = false;
  kernel_->sets.clear();  // table gone: nothing banned
  auto none = enforcer_->list();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  kernel_->missing_error = EPERM;
  auto denied = enforcer_->list();
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.error().message.find("Operation not permitted"), std::string::npos);
}

TEST_F(NftablesBatchTest, InitLoadsPrefixBansSoLaterBlocksStayDisjoint) {
  ParsedElement start = host_key("198.18.1.0");
  start.expires_ms = 60'000;
  ParsedElement end = host_key("198.18.2.0");
  end.interval_end = true;
  kernel_->sets[std::string(kSetBanNet4)] = {start, end};
  init();
  ASSERT_TRUE(enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.0/16")}));
  auto msgs = element_messages(last());
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, kMsgDestroySetElem);  // the /24 found at init() goes
  EXPECT_EQ(address_from_key(msgs[0].elements[0].key.data(), 4), *IpAddress::parse("198.18.1.0"));
}

TEST_F(NftablesBatchTest, FlushRecreatesAndRemoveDeletesTheTableOnly) {
  init();
  ASSERT_TRUE(enforcer_->flush());
  ASSERT_EQ(kernel_->transactions.size(), 1u);
  EXPECT_EQ(last().front().type, NFT_MSG_DELTABLE);
  EXPECT_EQ(last()[1].type, NFT_MSG_NEWTABLE);
  ASSERT_TRUE(enforcer_->remove());
  ASSERT_EQ(last().size(), 1u);
  EXPECT_EQ(last()[0].type, NFT_MSG_DELTABLE);
  // Every message in every transaction names picket's table and nothing else.
  for (const auto& tx : kernel_->transactions) {
    for (const auto& m : tx) {
      std::string bytes(m.bytes.begin(), m.bytes.end());
      EXPECT_NE(bytes.find(std::string("picket") + '\0'), std::string::npos);
    }
  }
}

TEST_F(NftablesBatchTest, ApplyBeforeInitIsAnError) {
  auto r = enforcer_->apply(std::vector{make(DecisionAction::block, "198.18.0.2")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("init()"), std::string::npos);
  EXPECT_TRUE(kernel_->transactions.empty());
}

}  // namespace
}  // namespace picket::enforce::nftables
