// Socket and Snapshot: one view of the host's TCP and UDP sockets with their owning processes,
// as ConnTable (conn_table.hpp) takes it and the snapshot detectors read it.
//
// Addresses: an IPv4-mapped IPv6 address (::ffff:a.b.c.d, a dual-stack socket talking IPv4) is
// given as the IPv4 address, so one peer has one spelling whatever socket family carried it.
// An unconnected socket's remote is the family's zero address with port 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::conn {

inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// Linux TCP_* state numbers (include/net/tcp_states.h), as sock_diag reports them. UDP sockets
// are kEstablished when connected, kClose otherwise.
namespace tcp_state {
inline constexpr uint8_t kEstablished = 1;
inline constexpr uint8_t kSynSent = 2;
inline constexpr uint8_t kSynRecv = 3;
inline constexpr uint8_t kFinWait1 = 4;
inline constexpr uint8_t kFinWait2 = 5;
inline constexpr uint8_t kTimeWait = 6;
inline constexpr uint8_t kClose = 7;
inline constexpr uint8_t kCloseWait = 8;
inline constexpr uint8_t kLastAck = 9;
inline constexpr uint8_t kListen = 10;
inline constexpr uint8_t kClosing = 11;
inline constexpr uint8_t kNewSynRecv = 12;  // a request socket: a handshake in progress on a listener
inline constexpr uint8_t kMax = 12;
}  // namespace tcp_state

// "established", "syn_sent", ..., "new_syn_recv"; "unknown" outside 1..12. For UDP the same
// names apply ("established" = connected, "close" = unconnected).
std::string_view state_name(uint8_t state) noexcept;
// The state number of a name above; 0 when unknown.
uint8_t state_from_name(std::string_view name) noexcept;

struct Socket {
  uint8_t proto = 0;  // kProtoTcp or kProtoUdp
  uint8_t state = 0;  // tcp_state numbering
  core::IpAddress local, remote;
  uint16_t local_port = 0, remote_port = 0;
  uint64_t inode = 0;  // 0 for sockets no file holds (TIME_WAIT, request sockets)
  uint32_t uid = 0;
  int32_t pid = -1;      // the owning process (of several, the first found); -1 unknown
  uint32_t process = 0;  // index into Snapshot::process_names; 0 = "" (unknown)
};

struct Snapshot {
  core::Timestamp taken_at;
  std::vector<Socket> sockets;             // in dump order: tcp/ipv4, tcp/ipv6, udp/ipv4, udp/ipv6
  std::vector<std::string> process_names;  // [0] is "" (unknown); then one per distinct pid, by pid
  uint64_t truncated = 0;                  // sockets left out because max_sockets was reached

  const std::string& process_name(const Socket& s) const noexcept {
    static const std::string kUnknown;
    return s.process < process_names.size() ? process_names[s.process] : kUnknown;
  }
};

}  // namespace picket::conn
