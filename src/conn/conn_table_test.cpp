// ConnTable against the kernel: this process's own sockets on loopback (127.0.0.1 and ::1),
// found with their states, ports, inode, and this process's pid and name.
#include "conn/conn_table.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "core/unique_fd.hpp"

namespace picket::conn {
namespace {

using core::Duration;
using core::Timestamp;
using core::UniqueFd;

const Timestamp kT0 = Timestamp::from_parts(1'700'000'000, 0);

std::string own_comm() {
  std::ifstream f("/proc/self/comm");
  std::string s;
  std::getline(f, s);
  return s;
}

uint64_t inode_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// A bound socket of `family` on loopback (port 0: the kernel picks); invalid when the family is
// unavailable here.
UniqueFd bound(int family, int type) {
  UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return UniqueFd();
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

bool connect_to(int fd, int family, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    len = sizeof(*a);
  }
  return ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

const Socket* find_inode(const Snapshot& s, uint64_t inode) {
  for (const auto& k : s.sockets) {
    if (k.inode == inode) return &k;
  }
  return nullptr;
}

std::unique_ptr<ConnTable> open_table(TableOptions o = {}) {
  auto t = ConnTable::open(std::move(o));
  if (!t) ADD_FAILURE() << t.error().message;
  return t ? std::move(*t) : nullptr;
}

struct TcpCase {
  int family;
  const char* loopback;
};

class ConnTableTcp : public ::testing::TestWithParam<TcpCase> {};

TEST_P(ConnTableTcp, FindsListenerAndBothEnds) {
  const TcpCase c = GetParam();
  UniqueFd listener = bound(c.family, SOCK_STREAM);
  if (!listener.valid()) GTEST_SKIP() << "no " << c.loopback << " here";
  ASSERT_EQ(::listen(listener.get(), 8), 0);
  const uint16_t port = port_of(listener.get());
  UniqueFd client(::socket(c.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(connect_to(client.get(), c.family, port));
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(server.valid());

  auto table = open_table();
  ASSERT_TRUE(table);
  Snapshot snap;
  ASSERT_TRUE(table->refresh(kT0, snap));
  EXPECT_EQ(snap.taken_at, kT0);
  EXPECT_EQ(snap.truncated, 0u);

  const Socket* l = find_inode(snap, inode_of(listener.get()));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->proto, kProtoTcp);
  EXPECT_EQ(l->state, tcp_state::kListen);
  EXPECT_EQ(l->local.to_string(), c.loopback);
  EXPECT_EQ(l->local_port, port);
  EXPECT_EQ(l->remote_port, 0);
  EXPECT_EQ(l->pid, ::getpid());
  EXPECT_EQ(snap.process_name(*l), own_comm());
  EXPECT_EQ(l->uid, ::getuid());

  const Socket* cl = find_inode(snap, inode_of(client.get()));
  ASSERT_NE(cl, nullptr);
  EXPECT_EQ(cl->state, tcp_state::kEstablished);
  EXPECT_EQ(cl->remote.to_string(), c.loopback);
  EXPECT_EQ(cl->remote_port, port);
  EXPECT_EQ(cl->local_port, port_of(client.get()));
  EXPECT_EQ(cl->pid, ::getpid());

  const Socket* sv = find_inode(snap, inode_of(server.get()));
  ASSERT_NE(sv, nullptr);
  EXPECT_EQ(sv->state, tcp_state::kEstablished);
  EXPECT_EQ(sv->local_port, port);
  EXPECT_EQ(sv->remote_port, cl->local_port);
  EXPECT_EQ(sv->pid, ::getpid());

  // Closed between snapshots: gone (the closing side's TIME_WAIT holds no inode).
  const uint64_t client_inode = inode_of(client.get());
  client.reset();
  ASSERT_TRUE(table->refresh(kT0 + Duration::seconds(1), snap));
  EXPECT_EQ(find_inode(snap, client_inode), nullptr);
  EXPECT_NE(find_inode(snap, inode_of(server.get())), nullptr);
  EXPECT_EQ(table->stats().snapshots, 2u);
  EXPECT_EQ(table->stats().errors, 0u);
  EXPECT_EQ(table->stats().sockets, snap.sockets.size());
}

std::string tcp_case_name(const ::testing::TestParamInfo<TcpCase>& p) {
  return p.param.family == AF_INET ? "ipv4" : "ipv6";
}

INSTANTIATE_TEST_SUITE_P(Loopback, ConnTableTcp,
                         ::testing::Values(TcpCase{AF_INET, "127.0.0.1"}, TcpCase{AF_INET6, "::1"}), tcp_case_name);

TEST(ConnTable, UdpConnectedAndNot) {
  UniqueFd peer = bound(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(peer.valid());
  UniqueFd connected = bound(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(connect_to(connected.get(), AF_INET, port_of(peer.get())));
  auto table = open_table();
  ASSERT_TRUE(table);
  Snapshot snap;
  ASSERT_TRUE(table->refresh(kT0, snap));
  const Socket* p = find_inode(snap, inode_of(peer.get()));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->proto, kProtoUdp);
  EXPECT_EQ(p->state, tcp_state::kClose);
  EXPECT_EQ(p->local_port, port_of(peer.get()));
  const Socket* k = find_inode(snap, inode_of(connected.get()));
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->proto, kProtoUdp);
  EXPECT_EQ(k->state, tcp_state::kEstablished);
  EXPECT_EQ(k->remote_port, port_of(peer.get()));
  EXPECT_EQ(k->remote.to_string(), "127.0.0.1");
  EXPECT_EQ(k->pid, ::getpid());
}

TEST(ConnTable, Ipv4MappedPeerIsIpv4) {
  UniqueFd listener = bound(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(listener.valid());
  ASSERT_EQ(::listen(listener.get(), 8), 0);
  UniqueFd client(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!client.valid()) GTEST_SKIP() << "no IPv6 sockets here";
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  ASSERT_EQ(::inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr), 1);
  a.sin6_port = htons(port_of(listener.get()));
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  auto table = open_table();
  ASSERT_TRUE(table);
  Snapshot snap;
  ASSERT_TRUE(table->refresh(kT0, snap));
  const Socket* k = find_inode(snap, inode_of(client.get()));
  ASSERT_NE(k, nullptr);
  EXPECT_TRUE(k->remote.is_v4());
  EXPECT_EQ(k->remote.to_string(), "127.0.0.1");
  EXPECT_TRUE(k->local.is_v4());
}

TEST(ConnTable, NewSocketOfKnownProcessWaitsForFullRescan) {
  TableOptions o;
  o.full_rescan = Duration::seconds(3600);
  auto table = open_table(o);
  ASSERT_TRUE(table);
  Snapshot snap;
  UniqueFd first = bound(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(table->refresh(kT0, snap));
  EXPECT_EQ(find_inode(snap, inode_of(first.get()))->pid, ::getpid());
  UniqueFd later = bound(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(table->refresh(kT0 + Duration::seconds(1), snap));
  ASSERT_NE(find_inode(snap, inode_of(later.get())), nullptr);
  EXPECT_EQ(find_inode(snap, inode_of(later.get()))->pid, -1);
  EXPECT_EQ(table->stats().full_scans, 1u);
  ASSERT_TRUE(table->refresh(kT0 + Duration::seconds(3600), snap));
  EXPECT_EQ(find_inode(snap, inode_of(later.get()))->pid, ::getpid());
  EXPECT_EQ(table->stats().full_scans, 2u);
}

TEST(ConnTable, MaxSocketsTruncates) {
  UniqueFd a = bound(AF_INET, SOCK_DGRAM), b = bound(AF_INET, SOCK_DGRAM), c = bound(AF_INET, SOCK_DGRAM);
  TableOptions o;
  o.max_sockets = 2;
  auto table = open_table(o);
  ASSERT_TRUE(table);
  Snapshot snap;
  ASSERT_TRUE(table->refresh(kT0, snap));
  EXPECT_EQ(snap.sockets.size(), 2u);
  EXPECT_GE(snap.truncated, 1u);
  EXPECT_EQ(table->stats().truncated, snap.truncated);
}

TEST(ConnTable, OptionsSelectDumps) {
  UniqueFd udp = bound(AF_INET, SOCK_DGRAM);
  UniqueFd tcp = bound(AF_INET, SOCK_STREAM);
  ASSERT_EQ(::listen(tcp.get(), 1), 0);
  TableOptions o;
  o.udp = false;
  o.ipv6 = false;
  o.processes = false;
  auto table = open_table(o);
  ASSERT_TRUE(table);
  Snapshot snap;
  ASSERT_TRUE(table->refresh(kT0, snap));
  EXPECT_EQ(find_inode(snap, inode_of(udp.get())), nullptr);
  const Socket* t = find_inode(snap, inode_of(tcp.get()));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->pid, -1);  // processes off
  ASSERT_EQ(snap.process_names.size(), 1u);
  for (const auto& k : snap.sockets) {
    EXPECT_EQ(k.proto, kProtoTcp);
    EXPECT_TRUE(k.local.is_v4());
  }
  EXPECT_EQ(table->stats().proc_scans, 0u);

  // Only listeners.
  o.processes = true;
  o.tcp_states = 1u << tcp_state::kListen;
  table = open_table(o);
  ASSERT_TRUE(table);
  ASSERT_TRUE(table->refresh(kT0, snap));
  for (const auto& k : snap.sockets) EXPECT_EQ(k.state, tcp_state::kListen);
  EXPECT_NE(find_inode(snap, inode_of(tcp.get())), nullptr);
}

TEST(ConnTable, NothingToListIsAnError) {
  TableOptions o;
  o.tcp = false;
  o.udp = false;
  auto t = ConnTable::open(o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "conn: nothing to list (no protocol or no family enabled)");
}

}  // namespace
}  // namespace picket::conn
