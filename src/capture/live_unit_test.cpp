// Live capture pieces that need no kernel: TPACKET_V3 block walking (good and bogus blocks built
// by hand), VLAN tag re-insertion, the fanout hash model, option checks and open errors.
#include <gtest/gtest.h>
#include <linux/if_packet.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "capture/live_source.hpp"

namespace picket::capture {
namespace {

using detail::BlockCursor;
using detail::RingFrame;

constexpr size_t kHdr = TPACKET_ALIGN(sizeof(tpacket3_hdr));

// Builds a block the way the kernel lays one out: descriptor, then frames at 16-byte alignment,
// each tpacket3_hdr + sockaddr_ll + data at tp_mac.
class BlockBuilder {
 public:
  explicit BlockBuilder(size_t size = 4096) : block_(size, 0) { offset_ = TPACKET_ALIGN(sizeof(tpacket_block_desc)); }

  BlockBuilder& frame(const std::vector<uint8_t>& data, uint32_t sec, uint32_t nsec, uint8_t pkttype = 0,
                      int ifindex = 7, uint32_t status = 0, uint16_t tci = 0, uint16_t tpid = 0) {
    tpacket3_hdr h{};
    h.tp_sec = sec;
    h.tp_nsec = nsec;
    h.tp_snaplen = static_cast<uint32_t>(data.size());
    h.tp_len = static_cast<uint32_t>(data.size());
    h.tp_status = TP_STATUS_USER | status;
    h.tp_mac = static_cast<uint16_t>(TPACKET_ALIGN(kHdr + sizeof(sockaddr_ll)));
    h.tp_net = h.tp_mac;
    h.hv1.tp_vlan_tci = tci;
    h.hv1.tp_vlan_tpid = tpid;
    const size_t next = TPACKET_ALIGN(h.tp_mac + data.size());
    if (!frames_.empty()) patch_next(frames_.back(), offset_ - frames_.back());
    h.tp_next_offset = 0;
    sockaddr_ll sll{};
    sll.sll_ifindex = ifindex;
    sll.sll_pkttype = pkttype;
    std::memcpy(block_.data() + offset_, &h, sizeof h);
    std::memcpy(block_.data() + offset_ + kHdr, &sll, sizeof sll);
    std::memcpy(block_.data() + offset_ + h.tp_mac, data.data(), data.size());
    frames_.push_back(offset_);
    offset_ += next;
    return *this;
  }
  // Writes the descriptor; num_pkts/blk_len may be overridden to make a bogus block.
  std::vector<uint8_t> build(int64_t num_pkts = -1, int64_t blk_len = -1, int64_t first = -1) {
    tpacket_block_desc d{};
    d.version = TPACKET_V3;
    d.hdr.bh1.block_status = TP_STATUS_USER;
    d.hdr.bh1.num_pkts = num_pkts >= 0 ? static_cast<uint32_t>(num_pkts) : static_cast<uint32_t>(frames_.size());
    d.hdr.bh1.offset_to_first_pkt =
        first >= 0 ? static_cast<uint32_t>(first) : static_cast<uint32_t>(TPACKET_ALIGN(sizeof(tpacket_block_desc)));
    d.hdr.bh1.blk_len = blk_len >= 0 ? static_cast<uint32_t>(blk_len) : static_cast<uint32_t>(offset_);
    std::memcpy(block_.data(), &d, sizeof d);
    return block_;
  }
  size_t frame_offset(size_t i) const { return frames_[i]; }

 private:
  void patch_next(size_t at, size_t next) {
    tpacket3_hdr h{};
    std::memcpy(&h, block_.data() + at, sizeof h);
    h.tp_next_offset = static_cast<uint32_t>(next);
    std::memcpy(block_.data() + at, &h, sizeof h);
  }
  std::vector<uint8_t> block_;
  std::vector<size_t> frames_;
  size_t offset_;
};

std::vector<uint8_t> bytes(size_t n, uint8_t first) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}

std::vector<RingFrame> walk(const std::vector<uint8_t>& block, bool& malformed) {
  BlockCursor c;
  c.reset(block);
  std::vector<RingFrame> out;
  RingFrame f;
  for (int guard = 0; guard < 1000 && c.next(f); ++guard) out.push_back(f);
  malformed = c.malformed();
  EXPECT_TRUE(c.done());
  return out;
}

TEST(BlockCursor, WalksEveryFrameWithItsFields) {
  BlockBuilder b;
  b.frame(bytes(60, 1), 100, 5, 0, 7).frame(bytes(90, 2), 101, 6, PACKET_OUTGOING, 9).frame(bytes(14, 3), 102, 7);
  const auto block = b.build();
  bool malformed = true;
  const auto frames = walk(block, malformed);
  EXPECT_FALSE(malformed);
  ASSERT_EQ(frames.size(), 3u);
  const uint32_t lens[] = {60, 90, 14};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i].cap_len, lens[i]);
    EXPECT_EQ(frames[i].wire_len, lens[i]);
    EXPECT_EQ(frames[i].sec, 100 + static_cast<int64_t>(i));
    EXPECT_EQ(frames[i].nsec, 5 + i);
    EXPECT_EQ(frames[i].data[0], static_cast<uint8_t>(i + 1));
    EXPECT_FALSE(frames[i].vlan_valid);
  }
  EXPECT_EQ(frames[0].ifindex, 7u);
  EXPECT_EQ(frames[1].ifindex, 9u);
  EXPECT_EQ(frames[1].pkttype, PACKET_OUTGOING);
}

TEST(BlockCursor, EmptyBlockIsNotMalformed) {
  BlockBuilder b;
  bool malformed = true;
  EXPECT_TRUE(walk(b.build(0, 48), malformed).empty());
  EXPECT_FALSE(malformed);
}

// Each bogus block yields at most the frames before the damage, flags malformed, and never reads
// outside the block (ASan would catch it).
struct BogusCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  size_t good_frames;
};

TEST(BlockCursor, BogusBlocksAreCountedAndCut) {
  const std::vector<BogusCase> cases = {
      {"block too small", [] { return std::vector<uint8_t>(10, 0); }, 0},
      {"blk_len beyond block", [] { return BlockBuilder().frame(bytes(60, 1), 1, 1).build(-1, 5000); }, 0},
      {"first offset inside descriptor", [] { return BlockBuilder().frame(bytes(60, 1), 1, 1).build(-1, -1, 8); }, 0},
      {"first offset beyond blk_len", [] { return BlockBuilder().frame(bytes(60, 1), 1, 1).build(-1, -1, 4000); }, 0},
      {"more frames claimed than present",
       [] { return BlockBuilder().frame(bytes(60, 1), 1, 1).frame(bytes(60, 2), 1, 1).build(5); }, 2},
      {"blk_len cuts the last frame's data",
       [] {
         BlockBuilder b;
         b.frame(bytes(60, 1), 1, 1).frame(bytes(200, 2), 1, 1);
         return b.build(-1, static_cast<int64_t>(b.frame_offset(1) + 100));
       },
       1},
      {"snaplen beyond blk_len",
       [] {
         BlockBuilder b;
         b.frame(bytes(60, 1), 1, 1);
         auto blk = b.build();
         tpacket3_hdr h{};
         std::memcpy(&h, blk.data() + b.frame_offset(0), sizeof h);
         h.tp_snaplen = 100000;
         std::memcpy(blk.data() + b.frame_offset(0), &h, sizeof h);
         return blk;
       },
       0},
      {"tp_mac inside the frame header",
       [] {
         BlockBuilder b;
         b.frame(bytes(60, 1), 1, 1);
         auto blk = b.build();
         tpacket3_hdr h{};
         std::memcpy(&h, blk.data() + b.frame_offset(0), sizeof h);
         h.tp_mac = 4;
         std::memcpy(blk.data() + b.frame_offset(0), &h, sizeof h);
         return blk;
       },
       0},
      {"next offset zero before the last frame",
       [] {
         BlockBuilder b;
         b.frame(bytes(60, 1), 1, 1).frame(bytes(60, 2), 1, 1);
         auto blk = b.build();
         tpacket3_hdr h{};
         std::memcpy(&h, blk.data() + b.frame_offset(0), sizeof h);
         h.tp_next_offset = 0;
         std::memcpy(blk.data() + b.frame_offset(0), &h, sizeof h);
         return blk;
       },
       1},
      {"next offset pointing back into the data",
       [] {
         BlockBuilder b;
         b.frame(bytes(60, 1), 1, 1).frame(bytes(60, 2), 1, 1);
         auto blk = b.build();
         tpacket3_hdr h{};
         std::memcpy(&h, blk.data() + b.frame_offset(0), sizeof h);
         h.tp_next_offset = 16;
         std::memcpy(blk.data() + b.frame_offset(0), &h, sizeof h);
         return blk;
       },
       1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    bool malformed = false;
    const auto block = c.make();
    EXPECT_EQ(walk(block, malformed).size(), c.good_frames);
    EXPECT_TRUE(malformed);
  }
}

TEST(BlockCursor, VlanStatusAndTpid) {
  BlockBuilder b;
  b.frame(bytes(60, 1), 1, 1, 0, 7, TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, 0x2005, 0x88a8)
      .frame(bytes(60, 1), 1, 1, 0, 7, TP_STATUS_VLAN_VALID, 0x000a, 0);
  const auto block = b.build();
  bool malformed = true;
  const auto frames = walk(block, malformed);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].vlan_valid);
  EXPECT_EQ(frames[0].vlan_tci, 0x2005);
  EXPECT_EQ(frames[0].vlan_tpid, 0x88a8);
  EXPECT_TRUE(frames[1].vlan_valid);
  EXPECT_EQ(frames[1].vlan_tpid, 0x8100);  // no TPID from the kernel: 802.1Q
}

TEST(InsertVlanTag, PutsTheTagAfterTheMacAddresses) {
  std::vector<uint8_t> frame = bytes(12, 0xa0);
  frame.insert(frame.end(), {0x08, 0x00, 0x45, 0x00});
  RingFrame f;
  f.data = frame.data();
  f.cap_len = static_cast<uint32_t>(frame.size());
  f.vlan_tci = 0x300a;
  f.vlan_tpid = 0x8100;
  std::vector<uint8_t> out(frame.size() + 4);
  ASSERT_EQ(detail::insert_vlan_tag(f, out.data()), frame.size() + 4);
  EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 12, out.begin()));
  const std::vector<uint8_t> tag_and_rest = {0x81, 0x00, 0x30, 0x0a, 0x08, 0x00, 0x45, 0x00};
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 12, out.end()), tag_and_rest);

  // Shorter than two MAC addresses: copied unchanged.
  f.cap_len = 6;
  EXPECT_EQ(detail::insert_vlan_tag(f, out.data()), 6u);
  EXPECT_EQ(out[5], frame[5]);
}

TEST(FanoutHash, SameSourceSameShardAndBothShardsUsed) {
  const char* addrs[] = {"198.18.0.2", "198.18.0.3", "198.18.1.2", "2001:db8::2", "2001:db8::3", "2001:db8::1:2"};
  std::vector<uint32_t> shards;
  for (const char* a : addrs) {
    const auto ip = core::IpAddress::parse(a);
    ASSERT_TRUE(ip);
    EXPECT_EQ(detail::fanout_shard(*ip, 2), detail::fanout_shard(*ip, 2));
    EXPECT_LT(detail::fanout_shard(*ip, 3), 3u);
    shards.push_back(detail::fanout_shard(*ip, 2));
  }
  // The kernel test relies on these sources spreading over two rings.
  EXPECT_NE(std::count(shards.begin(), shards.end(), 0u), 0);
  EXPECT_NE(std::count(shards.begin(), shards.end(), 1u), 0);
  EXPECT_EQ(detail::fanout_shard(core::IpAddress{}, 4), 0u);  // non-IP: socket 0
  // Hand-computed: 198.18.0.2 = 0xc6120002 → ^>>16 = 0xc612c614 → *0x45d9f3b → ^>>16.
  uint32_t a = 0xc6120002u;
  a ^= a >> 16;
  a *= 0x45d9f3bU;
  a ^= a >> 16;
  EXPECT_EQ(detail::fanout_source_hash(*core::IpAddress::parse("198.18.0.2")), a);
}

TEST(LiveOptions, BadValuesAreRefusedWithTheirName) {
  struct Case {
    const char* name;
    std::function<void(LiveOptions&)> edit;
    const char* expect;  // substring of the error; empty = valid
  };
  const std::vector<Case> cases = {
      {"valid", [](LiveOptions&) {}, ""},
      {"no interfaces", [](LiveOptions& o) { o.interfaces.clear(); }, "no interfaces"},
      {"any", [](LiveOptions& o) { o.interfaces = {"any"}; }, "'any'"},
      {"twice",
       [](LiveOptions& o) {
         o.interfaces = {"lo", "lo"};
       },
       "lo: listed twice"},
      {"long name", [](LiveOptions& o) { o.interfaces = {"a-very-long-interface-name"}; }, "no such interface"},
      {"rings 0", [](LiveOptions& o) { o.rings_per_interface = 0; }, "rings_per_interface 0"},
      {"rings 65", [](LiveOptions& o) { o.rings_per_interface = 65; }, "rings_per_interface 65"},
      {"pcap fanout",
       [](LiveOptions& o) {
         o.method = LiveMethod::pcap;
         o.rings_per_interface = 2;
       },
       "afpacket"},
      {"ring 0", [](LiveOptions& o) { o.ring_mb = 0; }, "ring_mb 0"},
      {"snaplen 10", [](LiveOptions& o) { o.snaplen = 10; }, "snaplen 10"},
      {"snaplen big", [](LiveOptions& o) { o.snaplen = 262145; }, "snaplen 262145"},
      {"block timeout 0", [](LiveOptions& o) { o.block_timeout_ms = 0; }, "block_timeout_ms 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    LiveOptions o;
    o.interfaces = {"lo"};
    c.edit(o);
    auto r = detail::validate_live_options(o);
    if (std::string(c.expect).empty()) {
      EXPECT_TRUE(r.ok());
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
      EXPECT_EQ(r.error().message.rfind("capture: ", 0), 0u) << r.error().message;
    }
  }
}

// These fail before any socket is opened, so they need no privileges.
TEST(OpenLive, MissingInterfaceAndBadFilterAreNamed) {
  LiveOptions o;
  o.interfaces = {"pkmissing9"};
  auto r = open_live(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "capture: pkmissing9: no such interface");

  o.interfaces = {"lo", "pkmissing9"};
  r = open_live(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "capture: pkmissing9: no such interface");

  o.interfaces = {"lo"};
  o.bpf_filter = "tcp prt 80";
  r = open_live(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("capture: bad filter 'tcp prt 80': ", 0), 0u) << r.error().message;

  auto shards = open_live_shards(o);
  ASSERT_FALSE(shards.ok());
  EXPECT_EQ(shards.error().message.rfind("capture: bad filter", 0), 0u);
}

TEST(CompileKernelFilter, GoodAndBad) {
  auto good = detail::compile_kernel_filter("udp port 53", core::link_type::kEthernet, 1500);
  ASSERT_TRUE(good.ok());
  EXPECT_GT(good->size(), 2u);
  EXPECT_EQ(good->back().k, 0u);  // last: reject
  bool returns_snaplen = false;
  for (const auto& i : *good) returns_snaplen |= (i.code == 0x06 && i.k == 1500);  // BPF_RET|BPF_K
  EXPECT_TRUE(returns_snaplen);
  auto bad = detail::compile_kernel_filter("udp port", core::link_type::kEthernet, 1500);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("capture: bad filter 'udp port': ", 0), 0u);
}

}  // namespace
}  // namespace picket::capture
