#include "conn/sock_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

namespace picket::conn {

namespace {

// The wire layout read below (the uapi structs; checked so the offsets stay honest).
static_assert(sizeof(nlmsghdr) == 16);
static_assert(sizeof(inet_diag_msg) == 72);
static_assert(offsetof(inet_diag_msg, id) == 4);
static_assert(offsetof(inet_diag_msg, idiag_uid) == 64);
static_assert(offsetof(inet_diag_msg, idiag_inode) == 68);

constexpr size_t kHeader = 16;
constexpr size_t kDiagMsg = 72;
constexpr size_t kRecvBufferSize = 64 * 1024;  // a dump part is at most 32 KiB; room to spare
constexpr int kRecvTimeoutSeconds = 5;         // no answer within this: give up, never hang
constexpr int kMaxRecvsPerDump = 1 << 22;      // belt and braces next to the timeout

// Netlink's own fields are in host order.
uint32_t load_host32(core::Bytes b, size_t off) noexcept {
  uint32_t v = 0;
  if (core::fits(b, off, 4)) std::memcpy(&v, b.data() + off, 4);
  return v;
}
uint16_t load_host16(core::Bytes b, size_t off) noexcept {
  uint16_t v = 0;
  if (core::fits(b, off, 2)) std::memcpy(&v, b.data() + off, 2);
  return v;
}

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

core::IpAddress address(uint8_t family, const uint8_t* p) noexcept {
  if (family == AF_INET) return core::IpAddress::v4_bytes(p);
  if (std::memcmp(p, kMappedPrefix.data(), kMappedPrefix.size()) == 0) return core::IpAddress::v4_bytes(p + 12);
  return core::IpAddress::v6_bytes(p);
}

constexpr size_t align4(size_t n) noexcept {
  return (n + 3) & ~size_t{3};
}

}  // namespace

DumpParser::Status DumpParser::fail(std::string_view problem) noexcept {
  ++malformed_;
  problem_ = problem;
  return Status::error;
}

DumpParser::Status DumpParser::feed(core::Bytes buf) noexcept {
  size_t off = 0;
  while (off < buf.size()) {
    if (!core::fits(buf, off, kHeader)) return fail("truncated message header");
    const uint32_t len = load_host32(buf, off);
    const uint16_t type = load_host16(buf, off + 4);
    const uint32_t seq = load_host32(buf, off + 8);
    if (len < kHeader) return fail("message length below the header");
    if (!core::fits(buf, off, len)) return fail("message length past the end of the answer");
    const core::Bytes payload = buf.subspan(off + kHeader, len - kHeader);
    // The next message starts at the aligned length; the last one may end unaligned.
    off = std::min(buf.size(), off + align4(len));
    if (seq != seq_) {
      ++stale_;  // left over from an earlier request: not ours
      continue;
    }
    switch (type) {
      case NLMSG_DONE: {
        const auto err = static_cast<int32_t>(load_host32(payload, 0));
        if (payload.size() >= 4 && err < 0) {
          errno_ = -err;
          return Status::error;
        }
        return Status::done;
      }
      case NLMSG_ERROR: {
        if (payload.size() < 4) return fail("truncated error message");
        const auto err = static_cast<int32_t>(load_host32(payload, 0));
        if (err == 0) continue;  // an acknowledgement
        errno_ = err < 0 ? -err : err;
        return Status::error;
      }
      case NLMSG_NOOP:
        continue;
      case SOCK_DIAG_BY_FAMILY:
        socket_message(payload);
        continue;
      default:
        ++malformed_;  // a type a dump never sends: skipped, the stream is still in step
        continue;
    }
  }
  return Status::more;
}

void DumpParser::socket_message(core::Bytes p) noexcept {
  if (p.size() < kDiagMsg) {
    ++malformed_;
    return;
  }
  const uint8_t family = p[0];
  if (family != AF_INET && family != AF_INET6) {
    ++malformed_;
    return;
  }
  ++sockets_;
  if (out_->size() >= max_) {
    ++truncated_;
    return;
  }
  Socket s;
  s.proto = proto_;
  s.state = p[1];
  s.local_port = core::load_be16(p, 4);
  s.remote_port = core::load_be16(p, 6);
  s.local = address(family, p.data() + 8);
  s.remote = address(family, p.data() + 24);
  s.uid = load_host32(p, 64);
  s.inode = load_host32(p, 68);
  out_->push_back(s);  // capacity is the caller's concern: ConnTable reserves up front
}

std::vector<uint8_t> dump_request(uint8_t family, uint8_t proto, uint32_t states, uint32_t seq) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof(msg);
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = seq;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = proto;
  msg.req.idiag_states = states;
  std::vector<uint8_t> out(sizeof(msg));
  std::memcpy(out.data(), &msg, sizeof(msg));
  return out;
}

std::string dump_name(uint8_t family, uint8_t proto) {
  return fmt::format("{}/{}",
                     proto == kProtoTcp   ? "tcp"
                     : proto == kProtoUdp ? "udp"
                                          : "proto",
                     family == AF_INET6 ? "ipv6" : "ipv4");
}

namespace {

core::Result<core::UniqueFd> open_socket() {
  core::UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) return core::make_error(fmt::format("conn: sock_diag socket: {}", std::strerror(errno)));
  timeval tv{};
  tv.tv_sec = kRecvTimeoutSeconds;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return core::make_error(fmt::format("conn: sock_diag socket: SO_RCVTIMEO: {}", std::strerror(errno)));
  }
  return fd;
}

}  // namespace

core::Result<SockDiag> SockDiag::open() {
  auto fd = open_socket();
  if (!fd) return fd.error();
  SockDiag s(std::move(*fd));
  s.buf_.resize(kRecvBufferSize);
  return s;
}

core::Result<SockDiag::DumpResult> SockDiag::dump(uint8_t family, uint8_t proto, uint32_t states,
                                                  std::vector<Socket>& out, size_t max_sockets) {
  const auto failed = [&](std::string_view why) {
    return core::make_error(fmt::format("conn: sock_diag dump {}: {}", dump_name(family, proto), why));
  };
  if (!fd_.valid()) {
    // The last dump's answer could not be followed: start over on a fresh socket.
    auto fd = open_socket();
    if (!fd) return fd.error();
    fd_ = std::move(*fd);
  }
  const uint32_t seq = ++seq_;
  const std::vector<uint8_t> req = dump_request(family, proto, states, seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return failed(std::strerror(errno));
  }
  DumpParser parser(seq, proto, out, max_sockets);
  for (int i = 0; i < kMaxRecvsPerDump; ++i) {
    iovec iov{buf_.data(), buf_.size()};
    msghdr mh{};
    sockaddr_nl from{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof(from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(fd_.get(), &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      fd_.reset();  // the rest of the answer may still come: never read it as the next one's
      return failed(e == EAGAIN || e == EWOULDBLOCK ? "no answer within 5 s" : std::strerror(e));
    }
    if ((mh.msg_flags & MSG_TRUNC) != 0) {
      fd_.reset();
      return failed("malformed answer (a message larger than the receive buffer)");
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    switch (parser.feed(core::Bytes(buf_.data(), static_cast<size_t>(n)))) {
      case DumpParser::Status::more:
        continue;
      case DumpParser::Status::done:
        return DumpResult{parser.truncated(), parser.malformed()};
      case DumpParser::Status::error:
        if (parser.error_number() != 0) return failed(std::strerror(parser.error_number()));
        fd_.reset();
        return failed(fmt::format("malformed answer ({})", parser.problem()));
    }
  }
  fd_.reset();
  return failed("answer does not end");
}

}  // namespace picket::conn
