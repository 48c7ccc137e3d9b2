#include "enforce/nftables/netlink.hpp"

#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace picket::enforce::nftables {

namespace {

// Large transactions (100,000 bans are ~3 MiB) need a send buffer that holds them whole; the
// kernel answers dumps in chunks of up to 32 KiB, so 64 KiB reads never truncate one.
constexpr int kReceiveBufferBytes = 8 << 20;
constexpr size_t kReadBytes = 64 << 10;
constexpr int kDumpPollMs = 5000;

std::string errno_text(int e) { return std::strerror(e); }

// The extended-ack message (NLMSGERR_ATTR_MSG) that follows an error, when the kernel sent one.
std::string extack_text(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len >= sizeof(nlmsghdr)) {
    offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  }
  size_t payload = mnl_nlmsg_get_payload_len(nlh);
  if (offset >= payload) return {};
  const auto* base = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)) + offset;
  size_t left = payload - offset;
  while (left >= sizeof(nlattr)) {
    const auto* attr = reinterpret_cast<const nlattr*>(base);
    if (attr->nla_len < sizeof(nlattr) || attr->nla_len > left) break;
    if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
      size_t n = mnl_attr_get_payload_len(attr);
      return std::string(s, strnlen(s, n));
    }
    size_t step = MNL_ALIGN(attr->nla_len);
    if (step >= left) break;
    base += step;
    left -= step;
  }
  return {};
}

class KernelSocket final : public NetlinkSocket {
 public:
  explicit KernelSocket(mnl_socket* nl) : nl_(nl), rx_(kReadBytes) {}
  ~KernelSocket() override { mnl_socket_close(nl_); }
  KernelSocket(const KernelSocket&) = delete;
  KernelSocket& operator=(const KernelSocket&) = delete;

  core::Result<std::vector<KernelAnswer>> transact(std::span<const uint8_t> batch) override {
    if (auto r = fit_send_buffer(batch.size()); !r) return r.error();
    if (mnl_socket_sendto(nl_, batch.data(), batch.size()) < 0) {
      return core::make_error(fmt::format("netlink send of {} bytes: {}", batch.size(), errno_text(errno)));
    }
    // nfnetlink runs the whole transaction inside sendto(), so every answer is queued by now:
    // drain without waiting (what nft itself does).
    std::vector<KernelAnswer> errors;
    for (;;) {
      ssize_t n = recv(mnl_socket_get_fd(nl_), rx_.data(), rx_.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return core::make_error(fmt::format("netlink receive: {}", errno_text(errno)));
      }
      int len = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error != 0) errors.push_back({nlh->nlmsg_seq, -err->error, extack_text(nlh)});
      }
    }
    return errors;
  }

  core::Result<KernelAnswer> dump(std::span<const uint8_t> request,
                                  const std::function<void(const nlmsghdr&)>& on_message) override {
    if (request.size() < sizeof(nlmsghdr)) return core::make_error("netlink dump: request too short");
    uint32_t seq = reinterpret_cast<const nlmsghdr*>(request.data())->nlmsg_seq;
    if (mnl_socket_sendto(nl_, request.data(), request.size()) < 0) {
      return core::make_error(fmt::format("netlink send: {}", errno_text(errno)));
    }
    bool interrupted = false;
    for (;;) {
      pollfd pfd{mnl_socket_get_fd(nl_), POLLIN, 0};
      int p = poll(&pfd, 1, kDumpPollMs);
      if (p < 0 && errno == EINTR) continue;
      if (p < 0) return core::make_error(fmt::format("netlink poll: {}", errno_text(errno)));
      if (p == 0) return core::make_error("netlink dump: no answer from the kernel within 5 s");
      ssize_t n = recv(mnl_socket_get_fd(nl_), rx_.data(), rx_.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return core::make_error(fmt::format("netlink receive: {}", errno_text(errno)));
      }
      int len = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_seq != seq) continue;  // a late answer to something earlier
        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (nlh->nlmsg_type == NLMSG_DONE) return KernelAnswer{seq, interrupted ? EINTR : 0, {}};
        if (nlh->nlmsg_type == NLMSG_ERROR) {
          if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return KernelAnswer{seq, EPROTO, {}};
          const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
          return KernelAnswer{seq, -err->error, extack_text(nlh)};
        }
        on_message(*nlh);
      }
    }
  }

 private:
  core::Result<void> fit_send_buffer(size_t bytes) {
    if (bytes + 4096 <= sndbuf_) return {};
    int want = static_cast<int>(std::min<size_t>(bytes + 65536, 1u << 30));
    int fd = mnl_socket_get_fd(nl_);
    // SO_SNDBUFFORCE passes net.core.wmem_max for privileged callers; the plain option is capped.
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) < 0) {
      return core::make_error(fmt::format("netlink send buffer of {} bytes: {}", want, errno_text(errno)));
    }
    sndbuf_ = static_cast<size_t>(want);
    return {};
  }

  mnl_socket* nl_;
  std::vector<uint8_t> rx_;
  size_t sndbuf_ = 0;
};

}  // namespace

core::Result<std::unique_ptr<NetlinkSocket>> open_kernel_socket() {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl == nullptr) return core::make_error(fmt::format("netlink socket: {}", errno_text(errno)));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl);
    return core::make_error(fmt::format("netlink bind: {}", errno_text(e)));
  }
  int fd = mnl_socket_get_fd(nl);
  int one = 1;
  // Short acks (no echo of the request) and the kernel's error text; both are best effort.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  int rcv = kReceiveBufferBytes;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  return std::unique_ptr<NetlinkSocket>(new KernelSocket(nl));
}

}  // namespace picket::enforce::nftables
