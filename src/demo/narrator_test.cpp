#include "demo/narrator.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace picket::demo {
namespace {

// Event lines as picket writes them (taken from the golden replays and docs/events.md).
const char* kScanAlert =
    R"({"timestamp":"2026-01-01T00:00:04.012768+0000","event_type":"alert","src_ip":"198.19.0.40","dest_ip":"198.18.0.10","proto":"TCP","alert":{"action":"blocked","signature_id":2005001,"signature":"Port scan","category":"Detection of a Network Scan","severity":1},"picket":{"detector":"port_scan","kind":"port_scan","evidence":{"scan_kind":"vertical","scan_type":"syn","distinct_ports":13,"distinct_hosts":1}}})";
const char* kScanBlock =
    R"({"timestamp":"2026-01-01T00:00:04.012768+0000","event_type":"decision","src_ip":"198.19.0.40","decision":{"action":"block","target":"198.19.0.40","scope":"address","duration":600.0,"expires":"2026-01-01T00:10:04.012768+0000","offence":1,"detector":"port_scan","reason":"Port scan","enforcer":"nftables"},"picket":{"detector":"port_scan"}})";
const char* kSweep =
    R"({"event_type":"alert","src_ip":"198.19.0.50","picket":{"detector":"port_scan","kind":"sweep","evidence":{"scan_kind":"sweep","scan_type":"syn","distinct_hosts":20,"main_port":22}}})";
const char* kSynFlood =
    R"({"event_type":"alert","src_ip":"198.19.0.10","dest_ip":"198.18.0.10","dest_port":80,"proto":"TCP","picket":{"detector":"syn_flood","kind":"syn_flood","evidence":{"syns":200,"half_open":200,"rate":20.0}}})";
const char* kSubnet =
    R"({"event_type":"alert","src_ip":"198.19.40.0","dest_port":80,"proto":"TCP","picket":{"detector":"subnet_conn","kind":"subnet_conn","source_prefix":"198.19.40.0/24","evidence":{"established":83,"addresses":20}}})";
const char* kSubnetBlock =
    R"({"event_type":"decision","src_ip":"198.19.40.0","decision":{"action":"block","target":"198.19.40.0/24","scope":"prefix","duration":3600.0,"offence":2,"detector":"subnet_conn","enforcer":"nftables"},"picket":{"detector":"subnet_conn"}})";
const char* kSpoofed =
    R"({"event_type":"alert","dest_ip":"198.18.0.10","dest_port":80,"proto":"TCP","picket":{"detector":"spoofed_flood","kind":"spoofed_flood","aggregate":true,"evidence":{"packets":2033,"window":10.0,"distinct_sources":1164}}})";
const char* kRateLimit =
    R"({"event_type":"decision","dest_ip":"198.18.0.10","dest_port":443,"proto":"TCP","decision":{"action":"rate_limit","target":"198.18.0.10","scope":"address","duration":600.0,"rate_per_second":100,"detector":"spoofed_flood","enforcer":"dry-run","dry_run":true},"picket":{"detector":"spoofed_flood"}})";
const char* kUpdate =
    R"({"event_type":"alert","src_ip":"198.19.0.10","picket":{"detector":"syn_flood","kind":"syn_flood","update":true,"evidence":{"half_open":900,"rate":90}}})";
const char* kAllowlisted =
    R"({"event_type":"alert","src_ip":"198.18.0.1","picket":{"detector":"conn_rate","kind":"conn_rate","allowlisted":true,"evidence":{"connections":150,"window":60}}})";
const char* kUnblock =
    R"({"event_type":"decision","src_ip":"198.19.0.40","decision":{"action":"unblock","target":"198.19.0.40","enforcer":"nftables"},"picket":{"detector":"port_scan"}})";
const char* kEnforcerFail =
    R"({"event_type":"anomaly","anomaly":{"type":"enforcer","event":"apply_failed"},"picket":{"error":"nftables: Operation not permitted","pending":1,"retry_in":2}})";
const char* kTrapped =
    R"({"event_type":"anomaly","anomaly":{"type":"scan_trap","event":"trapped","layer":"daemon"},"picket":{"src_ip":"198.19.0.40","closed_ports":6,"hold_remaining":59.9}})";
const char* kDecode =
    R"({"event_type":"anomaly","anomaly":{"type":"decode","event":"tcp_truncated","layer":"tcp"},"picket":{"count":3}})";
const char* kStats = R"({"event_type":"stats","stats":{"final":false,"packets":10}})";
const char* kFinalStats = R"({"event_type":"stats","stats":{"final":true,"packets":4210,"findings":3,"decisions":3}})";

struct Case {
  const char* name;
  const char* line;
  bool expect_line;
  LineKind kind;
  const char* text;
};

class Describe : public ::testing::TestWithParam<Case> {};

TEST_P(Describe, Event) {
  const Case& c = GetParam();
  auto n = describe_event(c.line);
  ASSERT_EQ(n.has_value(), c.expect_line);
  if (!n) return;
  EXPECT_EQ(n->kind, c.kind);
  EXPECT_EQ(n->text, c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Events, Describe,
    ::testing::Values(
        Case{"scan", kScanAlert, true, LineKind::saw, "picket saw: port_scan from 198.19.0.40 (syn scan, 13 ports)"},
        Case{"scan_block", kScanBlock, true, LineKind::acted, "picket blocked 198.19.0.40 for 10m (nftables)"},
        Case{"sweep", kSweep, true, LineKind::saw, "picket saw: sweep from 198.19.0.50 (syn sweep, 20 hosts on port 22)"},
        Case{"syn_flood", kSynFlood, true, LineKind::saw,
             "picket saw: syn_flood from 198.19.0.10 (200 half-open handshakes, 20 SYNs/s)"},
        Case{"subnet", kSubnet, true, LineKind::saw,
             "picket saw: subnet_conn from 198.19.40.0/24 (83 connections held by ~20 addresses)"},
        Case{"subnet_block", kSubnetBlock, true, LineKind::acted,
             "picket blocked 198.19.40.0/24 for 1h (nftables, offence 2)"},
        Case{"spoofed", kSpoofed, true, LineKind::saw,
             "picket saw: spoofed_flood against 198.18.0.10:80 (2033 packets in 10s from ~1164 sources)"},
        Case{"rate_limit", kRateLimit, true, LineKind::acted,
             "picket would rate-limit new connections to 198.18.0.10:443 to 100/s for 10m (dry run, nothing enforced)"},
        Case{"update", kUpdate, true, LineKind::saw,
             "picket still sees: syn_flood from 198.19.0.10 (900 half-open handshakes, 90 SYNs/s)"},
        Case{"allowlisted", kAllowlisted, true, LineKind::saw,
             "picket saw: conn_rate from 198.18.0.1 (150 connections in 1m) - allowlisted, not blocked"},
        Case{"unblock", kUnblock, true, LineKind::info, "picket lifted its ban on 198.19.0.40 (nftables)"},
        Case{"enforcer_fail", kEnforcerFail, true, LineKind::trouble,
             "picket could not change the firewall (apply_failed): nftables: Operation not permitted"},
        Case{"scan_trap", kTrapped, true, LineKind::acted,
             "the kernel's scan trap caught 198.19.0.40 at its first closed port past 6 and drops it (ahead of picket's ban)"},
        Case{"decode_anomaly", kDecode, false, LineKind::info, ""},
        Case{"stats", kStats, false, LineKind::info, ""},
        Case{"final_stats", kFinalStats, true, LineKind::info, "picket's totals: 4210 packets, 3 findings, 3 decisions"},
        // Bad input: said, never thrown.
        Case{"not_json", "hello there", true, LineKind::trouble, "unreadable event line: hello there"},
        Case{"array", "[1,2,3]", true, LineKind::trouble, "unreadable event line: [1,2,3]"},
        Case{"cut_line", R"({"event_type":"alert","src_ip":"198.1)", true, LineKind::trouble,
             R"(unreadable event line: {"event_type":"alert","src_ip":"198.1)"},
        Case{"control_chars", "\x01\x02{", true, LineKind::trouble, "unreadable event line: ??{"},
        Case{"no_type", "{}", true, LineKind::trouble, "event without an event_type"},
        Case{"unknown_type", R"({"event_type":"flow"})", false, LineKind::info, ""},
        Case{"wrong_types", R"({"event_type":"alert","src_ip":7,"picket":{"detector":["x"],"evidence":"no"}})", true,
             LineKind::saw, "picket saw: an attack"},
        Case{"decision_without_fields", R"({"event_type":"decision","decision":{}})", true, LineKind::acted,
             "picket decided: ? ?"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HumanDuration, Spellings) {
  struct {
    double s;
    const char* want;
  } cases[] = {{600, "10m"}, {90, "90s"}, {3600, "1h"}, {5400, "90m"}, {1, "1s"}, {0.2, "0.2s"},
               {0, "0s"},    {-5, "0s"},  {1e300 * 1e300, "0s"}};
  for (const auto& c : cases) EXPECT_EQ(human_duration(c.s), c.want) << c.s;
}

TEST(Narrator, TalliesAndColour) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  ASSERT_NE(mem, nullptr);
  {
    Narrator n(mem, /*colour=*/true);
    n.say(LineKind::phase, "The attacker scans ports");
    for (const char* line : {kScanAlert, kScanBlock, kUpdate, kSubnetBlock, kScanBlock, kStats, "garbage"}) n.event(line);
    EXPECT_EQ(n.alerts(), 1u);  // the update is not a new finding
    EXPECT_EQ(n.blocks(), 3u);
    EXPECT_EQ(n.unreadable(), 1u);
    ASSERT_EQ(n.blocked_targets().size(), 2u);
    EXPECT_EQ(n.blocked_targets()[0], "198.19.0.40");
    EXPECT_EQ(n.blocked_targets()[1], "198.19.40.0/24");
    EXPECT_EQ(n.alerts_by_detector().at("port_scan"), 1u);
    EXPECT_FALSE(n.saw_enforcer_trouble());
    n.event(kEnforcerFail);
    EXPECT_TRUE(n.saw_enforcer_trouble());
  }
  std::fclose(mem);
  std::string out(buf, len);
  free(buf);
  EXPECT_NE(out.find("\033[1;36m==> The attacker scans ports\033[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("picket blocked 198.19.0.40 for 10m (nftables)"), std::string::npos);
}

TEST(Narrator, NoColourWhenNotAsked) {
  Narrator n(stdout, false);
  EXPECT_EQ(n.format(LineKind::phase, "x"), "==> x");
  EXPECT_EQ(n.format(LineKind::bad, "y"), "    y");
  Narrator c(stdout, true);
  EXPECT_EQ(c.format(LineKind::bad, "y"), "\033[1;31m    y\033[0m");
}

}  // namespace
}  // namespace picket::demo
