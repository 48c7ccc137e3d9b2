// DumpParser on hand-made answers: good messages, and every way an answer can be malformed.
#include "conn/sock_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <random>

#include <gtest/gtest.h>

namespace picket::conn {
namespace {

using Bytes = std::vector<uint8_t>;

void put32(Bytes& b, size_t off, uint32_t v) {
  std::memcpy(b.data() + off, &v, 4);
}
void put16(Bytes& b, size_t off, uint16_t v) {
  std::memcpy(b.data() + off, &v, 2);
}

// One netlink message: header (length = 16 + payload unless `len` overrides it) and payload,
// padded to 4 bytes.
Bytes message(uint16_t type, uint32_t seq, const Bytes& payload, std::optional<uint32_t> len = std::nullopt) {
  Bytes b(16 + ((payload.size() + 3) & ~size_t{3}), 0);
  put32(b, 0, len.value_or(static_cast<uint32_t>(16 + payload.size())));
  put16(b, 4, type);
  put16(b, 6, NLM_F_MULTI);
  put32(b, 8, seq);
  if (!payload.empty()) std::memcpy(b.data() + 16, payload.data(), payload.size());  // empty: data() may be null
  return b;
}

struct Diag {
  uint8_t family = AF_INET;
  uint8_t state = 1;
  uint16_t sport = 0, dport = 0;
  std::array<uint8_t, 16> src{}, dst{};
  uint32_t uid = 0, inode = 0;
};

Bytes diag_payload(const Diag& d) {
  inet_diag_msg m{};
  m.idiag_family = d.family;
  m.idiag_state = d.state;
  m.id.idiag_sport = htons(d.sport);
  m.id.idiag_dport = htons(d.dport);
  std::memcpy(m.id.idiag_src, d.src.data(), 16);
  std::memcpy(m.id.idiag_dst, d.dst.data(), 16);
  m.idiag_uid = d.uid;
  m.idiag_inode = d.inode;
  Bytes b(sizeof(m));
  std::memcpy(b.data(), &m, sizeof(m));
  return b;
}

Bytes error_payload(int32_t err) {
  Bytes b(4 + 16, 0);
  std::memcpy(b.data(), &err, 4);
  return b;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::array<uint8_t, 16> v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {a, b, c, d};
}
std::array<uint8_t, 16> v6(std::string_view text) {
  std::array<uint8_t, 16> out{};
  const auto a = core::IpAddress::parse(text);
  if (a) out = a->bytes();
  return out;
}

constexpr uint32_t kSeq = 7;

TEST(DumpParser, ReadsOneIpv4Socket) {
  Diag d;
  d.state = tcp_state::kEstablished;
  d.sport = 44321;
  d.dport = 443;
  d.src = v4(198, 18, 0, 1);
  d.dst = v4(198, 19, 3, 4);
  d.uid = 1000;
  d.inode = 123456;
  const Bytes answer =
      concat({message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(d)), message(NLMSG_DONE, kSeq, {0, 0, 0, 0})});
  std::vector<Socket> out;
  DumpParser p(kSeq, kProtoTcp, out, 100);
  EXPECT_EQ(p.feed(answer), DumpParser::Status::done);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].proto, kProtoTcp);
  EXPECT_EQ(out[0].state, tcp_state::kEstablished);
  EXPECT_EQ(out[0].local.to_string(), "198.18.0.1");
  EXPECT_EQ(out[0].remote.to_string(), "198.19.3.4");
  EXPECT_EQ(out[0].local_port, 44321);
  EXPECT_EQ(out[0].remote_port, 443);
  EXPECT_EQ(out[0].uid, 1000u);
  EXPECT_EQ(out[0].inode, 123456u);
  EXPECT_EQ(out[0].pid, -1);
  EXPECT_EQ(p.malformed(), 0u);
}

TEST(DumpParser, Ipv6AndMappedAddresses) {
  Diag a;
  a.family = AF_INET6;
  a.src = v6("2001:db8::1");
  a.dst = v6("::ffff:198.18.5.6");
  Diag b = a;
  b.dst = v6("2001:db8::ffff:c612:506");  // not mapped: the ::ffff is not at bytes 10-11 after zeros
  std::vector<Socket> out;
  DumpParser p(kSeq, kProtoUdp, out, 100);
  EXPECT_EQ(p.feed(concat({message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(a)),
                           message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(b))})),
            DumpParser::Status::more);
  EXPECT_EQ(p.feed(message(NLMSG_DONE, kSeq, {})), DumpParser::Status::done);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].local.to_string(), "2001:db8::1");
  EXPECT_TRUE(out[0].remote.is_v4());
  EXPECT_EQ(out[0].remote.to_string(), "198.18.5.6");
  EXPECT_TRUE(out[1].remote.is_v6());
  EXPECT_EQ(out[0].proto, kProtoUdp);
}

TEST(DumpParser, MaxSocketsCountsTheRest) {
  std::vector<Socket> out;
  DumpParser p(kSeq, kProtoTcp, out, 2);
  Diag d;
  for (uint32_t i = 1; i <= 5; ++i) {
    d.inode = i;
    EXPECT_EQ(p.feed(message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(d))), DumpParser::Status::more);
  }
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(p.truncated(), 3u);
  EXPECT_EQ(p.sockets(), 5u);
}

struct BadCase {
  const char* name;
  Bytes answer;
  DumpParser::Status status;
  uint64_t malformed;
  int error_number;
  size_t sockets_kept;
};

class DumpParserBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(DumpParserBad, CountedNeverCrashes) {
  const BadCase& c = GetParam();
  std::vector<Socket> out;
  DumpParser p(kSeq, kProtoTcp, out, 100);
  EXPECT_EQ(p.feed(c.answer), c.status) << c.name;
  EXPECT_EQ(p.malformed(), c.malformed) << c.name;
  EXPECT_EQ(p.error_number(), c.error_number) << c.name;
  EXPECT_EQ(out.size(), c.sockets_kept) << c.name;
  if (c.status == DumpParser::Status::error && c.error_number == 0) {
    EXPECT_FALSE(p.problem().empty()) << c.name;
  }
}

Diag one() {
  Diag d;
  d.inode = 9;
  return d;
}

Diag bad_family() {
  Diag d;
  d.family = 99;
  return d;
}

std::string bad_case_name(const ::testing::TestParamInfo<BadCase>& p) {
  std::string n = p.param.name;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(
    Answers, DumpParserBad,
    ::testing::Values(
        BadCase{"truncated header", Bytes(10, 0), DumpParser::Status::error, 1, 0, 0},
        BadCase{"length below header", message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(one()), 8),
                DumpParser::Status::error, 1, 0, 0},
        BadCase{"length zero", message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(one()), 0), DumpParser::Status::error, 1,
                0, 0},
        BadCase{"length past the end", message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(one()), 4000),
                DumpParser::Status::error, 1, 0, 0},
        BadCase{"good then truncated", concat({message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(one())), Bytes(7, 1)}),
                DumpParser::Status::error, 1, 0, 1},
        BadCase{"short socket message", message(SOCK_DIAG_BY_FAMILY, kSeq, Bytes(40, 0)), DumpParser::Status::more, 1,
                0, 0},
        BadCase{"unknown family", message(SOCK_DIAG_BY_FAMILY, kSeq, diag_payload(bad_family())),
                DumpParser::Status::more, 1, 0, 0},
        BadCase{"unknown type", message(0x77, kSeq, diag_payload(one())), DumpParser::Status::more, 1, 0, 0},
        BadCase{"stale sequence", message(SOCK_DIAG_BY_FAMILY, kSeq + 1, diag_payload(one())), DumpParser::Status::more,
                0, 0, 0},
        BadCase{"kernel refuses", message(NLMSG_ERROR, kSeq, error_payload(-EPERM)), DumpParser::Status::error, 0,
                EPERM, 0},
        BadCase{"truncated error", message(NLMSG_ERROR, kSeq, Bytes(2, 0)), DumpParser::Status::error, 1, 0, 0},
        BadCase{"done with error", message(NLMSG_DONE, kSeq, error_payload(-ENOMEM)), DumpParser::Status::error, 0,
                ENOMEM, 0},
        BadCase{"ack is not an error",
                concat({message(NLMSG_ERROR, kSeq, error_payload(0)), message(NLMSG_DONE, kSeq, {})}),
                DumpParser::Status::done, 0, 0, 0}),
    bad_case_name);

TEST(DumpParser, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  std::vector<Socket> out;
  uint64_t errors = 0;
  for (int i = 0; i < 20'000; ++i) {
    Bytes b(rng() % 300);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    // Make some of them look like messages of ours so the deeper paths run too.
    if (b.size() >= 16 && (i % 2) == 0) {
      put32(b, 0, static_cast<uint32_t>(rng() % (b.size() + 8)));
      put16(b, 4, static_cast<uint16_t>(i % 4 == 0 ? SOCK_DIAG_BY_FAMILY : rng() % 4));
      put32(b, 8, kSeq);
    }
    out.clear();
    DumpParser p(kSeq, kProtoTcp, out, 8);
    if (p.feed(b) == DumpParser::Status::error) ++errors;
    EXPECT_LE(out.size(), 8u);
  }
  EXPECT_GT(errors, 0u);
}

TEST(DumpRequest, Layout) {
  const Bytes r = dump_request(AF_INET6, kProtoUdp, 0x2, 99);
  ASSERT_EQ(r.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
  nlmsghdr h;
  std::memcpy(&h, r.data(), sizeof(h));
  EXPECT_EQ(h.nlmsg_len, r.size());
  EXPECT_EQ(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_seq, 99u);
  inet_diag_req_v2 q;
  std::memcpy(&q, r.data() + sizeof(h), sizeof(q));
  EXPECT_EQ(q.sdiag_family, AF_INET6);
  EXPECT_EQ(q.sdiag_protocol, kProtoUdp);
  EXPECT_EQ(q.idiag_states, 0x2u);
  EXPECT_EQ(dump_name(AF_INET6, kProtoUdp), "udp/ipv6");
  EXPECT_EQ(dump_name(AF_INET, kProtoTcp), "tcp/ipv4");
}

TEST(StateNames, RoundTrip) {
  for (uint8_t s = 1; s <= tcp_state::kMax; ++s) EXPECT_EQ(state_from_name(state_name(s)), s);
  EXPECT_EQ(state_name(0), "unknown");
  EXPECT_EQ(state_name(200), "unknown");
  EXPECT_EQ(state_from_name("bogus"), 0);
  EXPECT_EQ(state_name(tcp_state::kListen), "listen");
}

}  // namespace
}  // namespace picket::conn
