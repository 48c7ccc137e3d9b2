// sock_diag: the kernel's socket tables over NETLINK_SOCK_DIAG (inet_diag_req_v2), one dump per
// family × protocol.
//
// DumpParser reads the answer bytes and is separate from the socket so tests can feed it any
// bytes: it never reads past what it is given, and a malformed answer is a counted, named problem
// (`malformed`), never a crash. SockDiag owns the netlink socket and runs dumps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conn/snapshot.hpp"
#include "core/bytes.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace picket::conn {

// Parses the answer to one dump request (sequence number `seq`), one recv() buffer at a time.
// Sockets are appended to `out` up to `max_sockets` entries in total; the rest are counted in
// truncated(). IPv4-mapped IPv6 addresses become IPv4 (see snapshot.hpp).
class DumpParser {
 public:
  enum class Status {
    more,   // the dump goes on: feed the next buffer
    done,   // NLMSG_DONE seen
    error,  // the kernel refused (error_number()), or the stream cannot be followed (malformed)
  };

  DumpParser(uint32_t seq, uint8_t proto, std::vector<Socket>& out, size_t max_sockets) noexcept
      : seq_(seq), proto_(proto), out_(&out), max_(max_sockets) {}

  // One datagram as recv() returned it.
  Status feed(core::Bytes buf) noexcept;

  int error_number() const noexcept { return errno_; }  // errno of an NLMSG_ERROR, 0 otherwise
  // What made the stream unfollowable ("message length 12 below the header"), "" otherwise.
  std::string_view problem() const noexcept { return problem_; }
  uint64_t sockets() const noexcept { return sockets_; }  // parsed (kept or truncated)
  uint64_t truncated() const noexcept { return truncated_; }
  uint64_t malformed() const noexcept { return malformed_; }  // bad messages (skipped or fatal)
  uint64_t stale() const noexcept { return stale_; }          // messages of another request, skipped

 private:
  void socket_message(core::Bytes payload) noexcept;
  Status fail(std::string_view problem) noexcept;

  uint32_t seq_;
  uint8_t proto_;
  std::vector<Socket>* out_;
  size_t max_;
  int errno_ = 0;
  std::string_view problem_;
  uint64_t sockets_ = 0, truncated_ = 0, malformed_ = 0, stale_ = 0;
};

// The request for one dump: an nlmsghdr and an inet_diag_req_v2 asking for every socket of
// `family` (AF_INET/AF_INET6) and `proto` whose state is in `states` (bit i = state i).
std::vector<uint8_t> dump_request(uint8_t family, uint8_t proto, uint32_t states, uint32_t seq);

// "tcp/ipv4", "udp/ipv6".
std::string dump_name(uint8_t family, uint8_t proto);

class SockDiag {
 public:
  // Opens the netlink socket. Error: "conn: sock_diag socket: <strerror>".
  static core::Result<SockDiag> open();

  // Appends the sockets of one family × protocol to `out` (see DumpParser). Bounded: gives up
  // after a 5 s silence. Errors name the dump: "conn: sock_diag dump tcp/ipv6: Operation not
  // permitted"; after a malformed answer the socket is reopened for the next dump.
  struct DumpResult {
    uint64_t truncated = 0;
    uint64_t malformed = 0;
  };
  core::Result<DumpResult> dump(uint8_t family, uint8_t proto, uint32_t states, std::vector<Socket>& out,
                                size_t max_sockets);

 private:
  explicit SockDiag(core::UniqueFd fd) : fd_(std::move(fd)) {}
  core::UniqueFd fd_;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace picket::conn
