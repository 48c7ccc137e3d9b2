#include "enforce/conntrack/conntrack_cleaner.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace picket::enforce::conntrack {

namespace {

// Kernel-side tuple filter flag for the original source address (CTA_FILTER_F_CTA_IP_SRC in
// net/netfilter/nf_conntrack_netlink.c; the kernel does not export these in its uapi headers).
constexpr uint32_t kFilterOrigIpSrc = 1u << 0;
constexpr size_t kRecvBufferSize = 64 * 1024;     // a dump part is at most 32 KiB; room to spare
constexpr size_t kBatchBufferSize = 32 * 1024;    // delete messages per sendmsg (about a hundred)
constexpr size_t kMaxMessage = 4096;              // room kept for the next delete message
constexpr int kRecvTimeoutSeconds = 5;            // no reply within this: give up, never hang
constexpr int kDumpTries = 3;                     // a dump interrupted by table changes is redone
constexpr int kMaxRecvsPerCall = 1 << 20;         // belt and braces next to the timeout

std::string errno_text(int e) { return std::strerror(e); }

struct CtDeleter {
  void operator()(nf_conntrack* ct) const noexcept { nfct_destroy(ct); }
};
using CtPtr = std::unique_ptr<nf_conntrack, CtDeleter>;

// "198.18.0.2" for a host, "198.18.0.0/24" otherwise (error messages).
std::string text(const core::Prefix& p) { return p.is_host() ? p.address().to_string() : p.to_string(); }

uint8_t nl_family(const core::Prefix& p) { return p.address().is_v4() ? AF_INET : AF_INET6; }

// The entry's original source address, empty if the entry carries none.
core::IpAddress original_source(const nf_conntrack* ct) {
  if (!nfct_attr_is_set(ct, ATTR_ORIG_L3PROTO)) return {};
  const uint8_t l3 = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  if (l3 == AF_INET && nfct_attr_is_set(ct, ATTR_ORIG_IPV4_SRC)) {
    return core::IpAddress::v4_bytes(static_cast<const uint8_t*>(nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC)));
  }
  if (l3 == AF_INET6 && nfct_attr_is_set(ct, ATTR_ORIG_IPV6_SRC)) {
    return core::IpAddress::v6_bytes(static_cast<const uint8_t*>(nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC)));
  }
  return {};
}

class MnlSocket {
 public:
  explicit MnlSocket(mnl_socket* s) noexcept : s_(s) {}
  MnlSocket(MnlSocket&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  MnlSocket& operator=(MnlSocket&&) = delete;
  MnlSocket(const MnlSocket&) = delete;
  ~MnlSocket() {
    if (s_ != nullptr) mnl_socket_close(s_);
  }
  mnl_socket* get() const noexcept { return s_; }

 private:
  mnl_socket* s_;
};

class KernelConntrack final : public ConntrackTable {
 public:
  explicit KernelConntrack(MnlSocket sock) : sock_(std::move(sock)), portid_(mnl_socket_get_portid(sock_.get())) {}

  core::Result<uint64_t> remove_from(const core::Prefix& source) override {
    std::vector<CtPtr> found;
    int err = 0;
    // The kernel filter matches one address exactly, so it serves host prefixes. IPv4 only: on
    // the kernels tried (6.18) an IPv6 source filter returned none of the matching entries, and a
    // filter that drops matches cannot be repaired here, while extra entries can.
    const bool use_filter = source.is_host() && source.address().is_v4();
    for (int attempt = 0; attempt < kDumpTries; ++attempt) {
      found.clear();
      err = dump(source, use_filter && kernel_filter_works_, found);
      if ((err == EINVAL || err == EOPNOTSUPP) && use_filter && kernel_filter_works_) {
        // A kernel that knows CTA_FILTER but not this use of it: filter here from now on.
        kernel_filter_works_ = false;
        continue;
      }
      if (err != EINTR) break;
    }
    if (err != 0) return core::make_error(fmt::format("conntrack: dump {}: {}", text(source), errno_text(err)));
    return destroy(source, found);
  }

 private:
  // Drops whatever an earlier, failed call left unread (the rest of a dump, late acks), so it is
  // not taken for this call's replies.
  void drain(std::vector<char>& buf) {
    const int fd = mnl_socket_get_fd(sock_.get());
    for (int i = 0; i < kMaxRecvsPerCall; ++i) {
      if (recv(fd, buf.data(), buf.size(), MSG_DONTWAIT) <= 0) return;
    }
  }

  // Collects the entries whose original source is inside `source` into `out`; returns 0 or errno.
  int dump(const core::Prefix& source, bool kernel_filter, std::vector<CtPtr>& out) {
    std::vector<char> buf(kRecvBufferSize);
    drain(buf);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = nl_family(source);  // the kernel dumps this family only
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    if (kernel_filter) {
      const auto& bytes = source.address().bytes();
      nlattr* tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
      nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
      if (source.address().is_v4()) {
        mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, bytes.data());
      } else {
        mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, bytes.data());
      }
      mnl_attr_nest_end(nlh, ip);
      mnl_attr_nest_end(nlh, tuple);
      nlattr* filter = mnl_attr_nest_start(nlh, CTA_FILTER);
      mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, kFilterOrigIpSrc);
      mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS, 0);
      mnl_attr_nest_end(nlh, filter);
    }
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) return errno;

    struct Ctx {
      const core::Prefix* source;
      std::vector<CtPtr>* out;
      int parse_error;
    } ctx{&source, &out, 0};
    auto on_msg = [](const nlmsghdr* m, void* data) -> int {
      auto* c = static_cast<Ctx*>(data);
      CtPtr ct(nfct_new());
      if (!ct) {
        c->parse_error = ENOMEM;
        return MNL_CB_ERROR;
      }
      if (nfct_nlmsg_parse(m, ct.get()) < 0) return MNL_CB_OK;  // not an entry we can read: skip
      // Checked here as well: the kernel filter matches hosts only, and old kernels ignore it.
      if (c->source->contains(original_source(ct.get()))) c->out->push_back(std::move(ct));
      return MNL_CB_OK;
    };
    for (int i = 0; i < kMaxRecvsPerCall; ++i) {
      ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
      if (n < 0) return errno == EAGAIN ? ETIMEDOUT : errno;
      int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq_, portid_, on_msg, &ctx);
      if (r == MNL_CB_ERROR) return ctx.parse_error != 0 ? ctx.parse_error : errno;
      if (r == MNL_CB_STOP) return 0;
    }
    return ETIMEDOUT;
  }

  // Deletes `found`, many messages per sendmsg; counts the kernel's successful acks.
  core::Result<uint64_t> destroy(const core::Prefix& source, const std::vector<CtPtr>& found) {
    uint64_t removed = 0;
    int first_error = 0;
    std::vector<char> out(kBatchBufferSize);
    std::vector<char> in(kRecvBufferSize);
    size_t next = 0;
    while (next < found.size()) {
      const uint32_t first_seq = seq_ + 1;
      size_t bytes = 0;
      size_t sent_msgs = 0;
      // Each message is far below kMaxMessage (a tuple, counters, a few small attributes), so
      // building into the reserve past kBatchLimit cannot overrun the buffer.
      while (next < found.size() && bytes + kMaxMessage <= out.size()) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(out.data() + bytes);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++seq_;
        auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
        nfg->nfgen_family = nl_family(source);
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        // The whole entry as dumped, so the delete carries its CTA_ID: the kernel refuses
        // (ENOENT) if the tuple now belongs to a newer connection.
        nfct_nlmsg_build(nlh, found[next].get());
        bytes += NLMSG_ALIGN(nlh->nlmsg_len);
        ++next;
        ++sent_msgs;
      }
      if (mnl_socket_sendto(sock_.get(), out.data(), bytes) < 0) {
        return core::make_error(fmt::format("conntrack: delete {}: {}", text(source), errno_text(errno)));
      }
      // One ack per message, in order; a failed receive ends the call (the socket is unusable).
      size_t acked = 0;
      for (int i = 0; acked < sent_msgs && i < kMaxRecvsPerCall; ++i) {
        ssize_t n = mnl_socket_recvfrom(sock_.get(), in.data(), in.size());
        if (n < 0) {
          int e = errno == EAGAIN ? ETIMEDOUT : errno;
          return core::make_error(
              fmt::format("conntrack: delete {}: reading acks: {} ({} removed)", text(source), errno_text(e), removed));
        }
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<nlmsghdr*>(in.data()); mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
          if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq < first_seq || m->nlmsg_seq > seq_) continue;
          if (m->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          ++acked;
          if (e->error == 0) {
            ++removed;
          } else if (-e->error != ENOENT && first_error == 0) {
            first_error = -e->error;  // ENOENT: gone meanwhile, not ours to count
          }
        }
      }
    }
    if (first_error != 0) {
      return core::make_error(
          fmt::format("conntrack: delete {}: {} ({} removed)", text(source), errno_text(first_error), removed));
    }
    return removed;
  }

  MnlSocket sock_;
  uint32_t portid_;
  uint32_t seq_ = 0;
  bool kernel_filter_works_ = true;
};

}  // namespace

core::Result<ConntrackCleaner> ConntrackCleaner::open() {
  MnlSocket sock(mnl_socket_open(NETLINK_NETFILTER));
  if (sock.get() == nullptr) return core::make_error("conntrack: open netlink socket: " + errno_text(errno));
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return core::make_error("conntrack: bind netlink socket: " + errno_text(errno));
  }
  const int fd = mnl_socket_get_fd(sock.get());
  timeval tv{kRecvTimeoutSeconds, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    return core::make_error("conntrack: set receive timeout: " + errno_text(errno));
  }
  // Error acks carry only the header, not our whole request back (keeps the ack reads small).
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return ConntrackCleaner(std::make_unique<KernelConntrack>(std::move(sock)));
}

core::Result<uint64_t> ConntrackCleaner::remove_from(const core::Prefix& source) {
  if (source.address().empty()) return core::make_error("conntrack: remove: source has no address family");
  if (source.length() == 0) {
    return core::make_error(fmt::format("conntrack: remove {}: refusing a zero-length prefix", text(source)));
  }
  return table_->remove_from(source);
}

}  // namespace picket::enforce::conntrack
