// Pure parts of the demo that need no root: the network plan, namespace names, the simulator's
// attack frames, HTTP status parsing, the config picket gets.
#include "demo/topology.hpp"

#include <gtest/gtest.h>

#include <set>

#include "demo/attack_frames.hpp"
#include "demo/demo.hpp"
#include "demo/traffic.hpp"

namespace picket::demo {
namespace {

using core::IpAddress;
using core::Prefix;

TEST(DemoNetnsOwner, Names) {
  struct {
    const char* name;
    int pid;
  } cases[] = {{"pkdemo-1234-victim", 1234}, {"pkdemo-1-client", 1},  {"pkdemo-1234-", -1},
               {"pkdemo--victim", -1},       {"pkdemo-12x4-victim", -1}, {"pkdemo-0-victim", -1},
               {"pk123-0h", -1},             {"", -1},                {"pkdemo-", -1},
               {"pkdemo-99999999999999-victim", -1}};
  for (const auto& c : cases) EXPECT_EQ(demo_netns_owner(c.name), c.pid) << c.name;
}

TEST(TopologyPlan, NamesBelongToThePid) {
  TopologyPlan p = plan_for_pid(4242);
  for (const auto* n : {&p.victim_ns, &p.attacker_ns, &p.client_ns}) EXPECT_EQ(demo_netns_owner(*n), 4242) << *n;
  std::set<std::string> names = {p.victim_ns, p.attacker_ns, p.client_ns};
  EXPECT_EQ(names.size(), 3u);
  for (const auto* i : {&p.victim_to_attacker, &p.victim_to_client, &p.attacker_if, &p.client_if}) {
    EXPECT_LE(i->size(), 15u) << *i;  // IFNAMSIZ - 1
  }
}

TEST(TopologyPlan, AddressesAreTheSimulatorsAndStayInTheTestRange) {
  TopologyPlan p = plan_for_pid(1);
  const Prefix bench = *Prefix::parse("198.18.0.0/15");
  EXPECT_EQ(p.victim, *IpAddress::parse("198.18.0.10"));
  EXPECT_EQ(p.scanner, *IpAddress::parse("198.19.0.40"));
  EXPECT_EQ(p.syn_flooder, *IpAddress::parse("198.19.0.10"));
  EXPECT_EQ(p.conn_flood_source(0), *IpAddress::parse("198.19.40.10"));
  EXPECT_EQ(p.conn_flood_source(39), *IpAddress::parse("198.19.40.49"));
  auto addrs = p.attacker_addresses();
  EXPECT_EQ(addrs.size(), 42u);
  for (const auto& a : addrs) EXPECT_TRUE(bench.contains(a)) << a.to_string();
  for (const auto& a : {p.victim, p.victim_client_side, p.client}) EXPECT_TRUE(bench.contains(a));
  EXPECT_FALSE(p.conn_flood_net.contains(p.scanner));
}

TEST(TopologyPlan, CommandsStayInsideTheDemoNamespaces) {
  TopologyPlan p = plan_for_pid(77);
  const std::set<std::string> ours = {p.victim_ns, p.attacker_ns, p.client_ns};
  for (const auto& argv : p.setup_commands()) {
    ASSERT_GE(argv.size(), 3u);
    EXPECT_EQ(argv[0], "ip");
    const std::string line = join_argv(argv);
    EXPECT_EQ(line.find("default"), std::string::npos) << line;  // no route out
    if (argv[1] == "-n") {
      EXPECT_TRUE(ours.count(argv[2])) << line;
    } else if (argv[1] == "link" && argv[2] == "add") {
      // Both ends are created inside our namespaces (`netns` follows each name).
      int in_ns = 0;
      for (size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "netns") {
          EXPECT_TRUE(ours.count(argv[i + 1])) << line;
          ++in_ns;
        }
      }
      EXPECT_EQ(in_ns, 2) << line;
    } else {
      EXPECT_EQ(argv[1], "netns") << line;
      EXPECT_TRUE(ours.count(argv.back())) << line;
    }
  }
}

TEST(AttackFrames, ScanFramesAreTheScannersOnly) {
  TopologyPlan p = plan_for_pid(1);
  AttackShape shape;
  shape.max_frames = 500;
  shape.max_span = core::Duration::seconds(2);
  auto frames = attacker_frames("scan-syn", p.scanner, shape);
  ASSERT_TRUE(frames.ok()) << frames.error().message;
  ASSERT_EQ(frames->size(), 500u);
  core::Duration last{};
  for (const auto& f : *frames) {
    ASSERT_GE(f.bytes.size(), 34u);
    EXPECT_EQ(IpAddress::v4_bytes(f.bytes.data() + 26), p.scanner);
    EXPECT_EQ(IpAddress::v4_bytes(f.bytes.data() + 30), p.victim);
    EXPECT_GE(f.at, last);
    last = f.at;
  }
  EXPECT_LE(last, shape.max_span);
  EXPECT_EQ(frames->front().at, core::Duration{});
}

TEST(AttackFrames, BadRequestsAreErrors) {
  TopologyPlan p = plan_for_pid(1);
  auto unknown = attacker_frames("no-such-scenario", p.scanner);
  ASSERT_FALSE(unknown.ok());
  auto nobody = attacker_frames("scan-syn", p.syn_flooder);  // the flooder is not in a scan
  ASSERT_FALSE(nobody.ok());
  EXPECT_NE(nobody.error().message.find("198.19.0.10"), std::string::npos);
}

TEST(AttackFrames, SqueezeKeepsOrderAndProportion) {
  std::vector<TimedFrame> f = {{core::Duration::seconds(0), {}}, {core::Duration::seconds(5), {}},
                               {core::Duration::seconds(10), {}}};
  squeeze_timing(f, core::Duration::seconds(2));
  EXPECT_EQ(f[0].at, core::Duration::seconds(0));
  EXPECT_EQ(f[1].at, core::Duration::seconds(1));
  EXPECT_EQ(f[2].at, core::Duration::seconds(2));
  squeeze_timing(f, core::Duration::seconds(4));  // already short enough: unchanged
  EXPECT_EQ(f[2].at, core::Duration::seconds(2));
  std::vector<TimedFrame> none;
  squeeze_timing(none, core::Duration::seconds(1));
  EXPECT_TRUE(none.empty());
}

TEST(HttpStatus, Parse) {
  struct {
    const char* text;
    int code;
  } cases[] = {{"HTTP/1.1 200 OK\r\n", 200}, {"HTTP/1.0 404 Not Found", 404}, {"HTTP/1.1 503\r\n", 503},
               {"HTTP/1.1 20 OK", -1},       {"HTTP/1.1 2000 OK", -1},        {"SSH-2.0-OpenSSH", -1},
               {"", -1},                     {"HTTP/1.1", -1},                {"HTTP/1.1 abc", -1}};
  for (const auto& c : cases) EXPECT_EQ(parse_http_status(c.text), c.code) << c.text;
}

TEST(DemoConfig, NamesTheKeysPicketRunReads) {
  std::string y = demo_config_yaml("/tmp/x/store.db", "to-attacker", "to-client", "198.18.0.10");
  for (const char* want : {"profile: normal", "interfaces: [to-attacker, to-client]", "method: afpacket",
                           "mode: ips", "backend: nftables", "on_exit: remove", "path: \"/tmp/x/store.db\"",
                           "socket: \"/tmp/x/picket.sock\"", "home_net: [198.18.0.10/32]"}) {
    EXPECT_NE(y.find(want), std::string::npos) << want;
  }
}

}  // namespace
}  // namespace picket::demo

namespace picket::demo {
namespace {

const char* kListing = R"nft(table inet picket {
	comment "managed by picket; remove with: nft delete table inet picket"
	set ban4 {
		type ipv4_addr
		flags timeout
		elements = { 198.19.0.10 timeout 10m expires 9m45s452ms comment "syn_flood",
			     198.19.0.40 timeout 10m expires 9m42s160ms comment "port_scan" }
	}

	set ban6 {
		type ipv6_addr
		flags timeout
	}

	set ban_net4 {
		type ipv4_addr
		flags interval,timeout
		elements = { 198.19.40.0/24 timeout 10m expires 9m51s904ms comment "subnet_conn" }
	}

	set trap4 {
		type ipv4_addr
		size 65536
		flags dynamic,timeout
		elements = { 198.19.0.40 timeout 1m expires 39s672ms }
	}

	set trap_seen4 {
		type ipv4_addr . inet_service
		size 65536
		flags dynamic,timeout
		elements = { 198.19.0.40 . 7949 timeout 1m expires 39s672ms }
	}

	chain postrouting {
		type filter hook postrouting priority raw; policy accept;
		tcp flags rst,ack / fin,syn,rst,ack tcp sequence 0 ip daddr != @trap_exempt4 add @trap_seen4 { ip daddr . tcp sport timeout 1m } counter packets 1 bytes 40 comment "picket scan trap: IPv4 closed-port replies (RST|ACK seq 0)"
	}

	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		ip saddr @ban4 counter packets 3683 bytes 151100 drop comment "picket: banned IPv4 addresses"
		ip6 saddr @ban6 counter packets 0 bytes 0 drop comment "picket: banned IPv6 addresses"
		ip saddr @trap4 counter packets 9 bytes 396 drop comment "picket: scan trap, IPv4"
	}
}
)nft";

TEST(SummarizeNft, KeepsElementsAndHitRules) {
  auto lines = summarize_nft_table(kListing);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "table inet picket");
  EXPECT_EQ(lines[1],
            "  set ban4: elements = { 198.19.0.10 timeout 10m expires 9m45s452ms comment \"syn_flood\", 198.19.0.40 "
            "timeout 10m expires 9m42s160ms comment \"port_scan\" }");
  EXPECT_EQ(lines[2], "  set ban_net4: elements = { 198.19.40.0/24 timeout 10m expires 9m51s904ms comment \"subnet_conn\" }");
  // Who the scan trap holds, and its drop rule; not its bookkeeping (ports counted, counting rules).
  EXPECT_EQ(lines[3], "  set trap4: elements = { 198.19.0.40 timeout 1m expires 39s672ms }");
  EXPECT_NE(lines[4].find("counter packets 3683"), std::string::npos);
  EXPECT_NE(lines[5].find("@trap4 counter packets 9"), std::string::npos);
}

TEST(SummarizeNft, OddInput) {
  EXPECT_TRUE(summarize_nft_table("").empty());
  EXPECT_TRUE(summarize_nft_table("Error: No such file or directory\n").empty());
  auto cut = summarize_nft_table("table inet picket {\n set ban4 {\n  elements = { 198.19.0.1,\n");
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut[1], "  set ban4: elements = { 198.19.0.1, ...");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "ip saddr @x counter packets 5 bytes 1 drop\n";
  EXPECT_EQ(summarize_nft_table(many).size(), 40u);
}

}  // namespace
}  // namespace picket::demo
