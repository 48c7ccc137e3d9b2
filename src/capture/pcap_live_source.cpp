// The libpcap method (LiveMethod::pcap): one pcap handle per interface in non-blocking mode,
// read through poll() over the handles' selectable fds plus an eventfd for interrupt().
// libpcap's pointers die on its next read, so each batch is copied into one reused buffer (it
// grows to the largest batch, then allocation stops). Also compile_kernel_filter, the one place
// the AF_PACKET method reaches libpcap's compiler (kept here so pcap.h and linux/filter.h, which
// define the same BPF macros, never meet in one file).
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "capture/bpf_filter.hpp"
#include "capture/live_common.hpp"
#include "capture/live_source.hpp"
#include "core/unique_fd.hpp"

namespace picket::capture {
namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

struct Handle {
  PcapHandle pcap;
  int fd = -1;  // pcap_get_selectable_fd
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};  // wire bytes
};

class PcapLiveSource final : public detail::LiveSourceCommon {
 public:
  PcapLiveSource(std::vector<std::string> ifaces, std::vector<std::unique_ptr<Handle>> handles, core::UniqueFd event_fd,
                 int link_type, uint32_t snaplen)
      : LiveSourceCommon("pcap:", std::move(ifaces), std::move(event_fd), link_type, snaplen),
        handles_(std::move(handles)) {
    for (const auto& h : handles_) pfds_.push_back({h->fd, POLLIN, 0});
    pfds_.push_back({event_fd_.get(), POLLIN, 0});
  }

  size_t read_batch(std::span<core::RawPacket> out) noexcept override {
    if (finished() || out.empty()) return 0;
    arena_.clear();
    batch_ = out;
    n_ = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_);
    try {
      if (offsets_.size() < out.size()) offsets_.resize(out.size());
      fill();
      while (n_ == 0 && !finished()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0 || !wait_for_data(static_cast<int>(left))) break;
        fill();
      }
    } catch (const std::bad_alloc&) {
      fail("capture: out of memory");
    }
    // Pointers are fixed only now: the arena may have moved while it grew.
    for (size_t i = 0; i < n_; ++i) out[i].data = arena_.data() + offsets_[i];
    packets_.fetch_add(n_, std::memory_order_relaxed);
    return n_;
  }

  LiveStats stats() noexcept override {
    std::lock_guard lock(stats_mu_);
    LiveStats s;
    s.packets = packets_.load(std::memory_order_relaxed);
    for (const auto& name : ifaces_) {
      s.per_interface_packets.emplace_back(name, 0);
      s.per_interface_bytes.emplace_back(name, 0);
    }
    for (size_t i = 0; i < handles_.size(); ++i) {
      pcap_stat ps{};
      if (pcap_stats(handles_[i]->pcap.get(), &ps) == 0) s.kernel_drops += ps.ps_drop;
      s.per_interface_packets[i].second = handles_[i]->packets.load(std::memory_order_relaxed);
      s.per_interface_bytes[i].second = handles_[i]->bytes.load(std::memory_order_relaxed);
    }
    return s;
  }

 private:
  // One pcap_dispatch per handle, round-robin, each bounded by the room left in the batch.
  void fill() {
    const size_t count = handles_.size();
    const size_t start = rr_++ % count;
    for (size_t k = 0; k < count && n_ < batch_.size() && !finished(); ++k) {
      const size_t i = (start + k) % count;
      const size_t before = n_;
      const int rc = pcap_dispatch(handles_[i]->pcap.get(), static_cast<int>(batch_.size() - n_), &on_packet,
                                   reinterpret_cast<u_char*>(this));
      if (rc == PCAP_ERROR) {
        fail(fmt::format("capture: {}: {}", ifaces_[i], pcap_geterr(handles_[i]->pcap.get())));
      }
      handles_[i]->packets.fetch_add(n_ - before, std::memory_order_relaxed);
      uint64_t bytes = 0;
      for (size_t j = before; j < n_; ++j) bytes += batch_[j].wire_len;
      handles_[i]->bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
  }

  static void on_packet(u_char* self, const pcap_pkthdr* hdr, const u_char* data) {
    auto* s = reinterpret_cast<PcapLiveSource*>(self);
    if (s->n_ >= s->batch_.size()) return;  // pcap_dispatch's count keeps this from happening
    core::RawPacket& p = s->batch_[s->n_];
    // Opened with nanosecond precision: tv_usec holds nanoseconds.
    p.ts.ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000'000 + static_cast<int64_t>(hdr->ts.tv_usec);
    p.cap_len = hdr->caplen;
    p.wire_len = std::max(hdr->len, hdr->caplen);
    p.ifindex = 0;
    s->offsets_[s->n_] = s->arena_.size();
    s->arena_.insert(s->arena_.end(), data, data + hdr->caplen);
    ++s->n_;
  }

  bool wait_for_data(int timeout_ms) noexcept {
    for (auto& p : pfds_) p.revents = 0;
    if (poll(pfds_.data(), pfds_.size(), timeout_ms) <= 0) return true;
    if (pfds_.back().revents & POLLIN) {
      uint64_t v = 0;
      [[maybe_unused]] ssize_t n = read(event_fd_.get(), &v, sizeof v);
      return false;
    }
    return true;  // errors surface from pcap_dispatch
  }

  std::vector<std::unique_ptr<Handle>> handles_;
  std::vector<pollfd> pfds_;
  std::vector<uint8_t> arena_;
  std::vector<size_t> offsets_;
  std::span<core::RawPacket> batch_;
  size_t n_ = 0;
  size_t rr_ = 0;
  std::atomic<uint64_t> packets_{0};
  std::mutex stats_mu_;
};

core::Error activate_error(const std::string& iface, pcap_t* p, int rc) {
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return core::make_error(fmt::format("capture: {}: no such interface", iface));
    case PCAP_ERROR_PERM_DENIED:
      return core::make_error(fmt::format("capture: {}: Operation not permitted (needs CAP_NET_RAW)", iface));
    default:
      return core::make_error(fmt::format("capture: {}: {}", iface, pcap_geterr(p)));
  }
}

core::Result<std::unique_ptr<Handle>> open_handle(const std::string& iface, const LiveOptions& o) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  auto h = std::make_unique<Handle>();
  h->pcap.reset(pcap_create(iface.c_str(), errbuf));
  if (!h->pcap) return core::make_error(fmt::format("capture: {}: {}", iface, errbuf));
  pcap_t* p = h->pcap.get();
  pcap_set_snaplen(p, static_cast<int>(o.snaplen));
  pcap_set_promisc(p, o.promiscuous ? 1 : 0);
  // Not immediate mode: on Linux that makes libpcap use TPACKET_V2, whose ring slots are each
  // snaplen bytes (a 64 MiB buffer holds 250 frames at the default snaplen). Without it libpcap
  // uses TPACKET_V3 with this timeout as the block timeout: the same latency bound as our ring.
  pcap_set_timeout(p, static_cast<int>(o.block_timeout_ms));
  pcap_set_buffer_size(p, static_cast<int>(std::min<uint64_t>(uint64_t{o.ring_mb} << 20, 1u << 30)));
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);  // falls back to micro when refused; see below
  const int rc = pcap_activate(p);
  if (rc < 0) return activate_error(iface, p, rc);
  if (pcap_setnonblock(p, 1, errbuf) < 0) return core::make_error(fmt::format("capture: {}: {}", iface, errbuf));
  h->fd = pcap_get_selectable_fd(p);
  if (h->fd < 0) return core::make_error(fmt::format("capture: {}: no selectable descriptor", iface));
  if (pcap_get_tstamp_precision(p) != PCAP_TSTAMP_PRECISION_NANO) {
    // Stamps would be microseconds read as nanoseconds: refuse rather than mistime every packet.
    return core::make_error(fmt::format("capture: {}: libpcap cannot give nanosecond timestamps", iface));
  }
  if (!o.bpf_filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(p, &prog, o.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return core::make_error(fmt::format("capture: bad filter '{}': {}", o.bpf_filter, pcap_geterr(p)));
    }
    const int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) return core::make_error(fmt::format("capture: {}: setting the filter: {}", iface, pcap_geterr(p)));
  }
  return h;
}

}  // namespace

namespace detail {

core::Result<std::unique_ptr<LiveSource>> open_pcap_live(const LiveOptions& o) {
  std::vector<std::unique_ptr<Handle>> handles;
  int link = -1;
  for (const auto& iface : o.interfaces) {
    auto h = open_handle(iface, o);
    if (!h) return h.error();
    const int lt = dlt_to_linktype(pcap_datalink(h.value()->pcap.get()));
    if (link >= 0 && lt != link) {
      return core::make_error(fmt::format("capture: link types differ: {} is LINKTYPE {}, {} is LINKTYPE {}",
                                          o.interfaces[0], link, iface, lt));
    }
    link = lt;
    handles.push_back(std::move(h).value());
  }
  core::UniqueFd efd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!efd.valid()) return core::make_error(fmt::format("capture: eventfd: {}", std::strerror(errno)));
  return std::unique_ptr<LiveSource>(
      std::make_unique<PcapLiveSource>(o.interfaces, std::move(handles), std::move(efd), link, o.snaplen));
}

core::Result<std::vector<KernelInsn>> compile_kernel_filter(const std::string& expr, int link_type, uint32_t snaplen) {
  struct Dead {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }
  };
  std::unique_ptr<pcap_t, Dead> dead(pcap_open_dead(linktype_to_dlt(link_type), static_cast<int>(snaplen)));
  if (!dead) return core::make_error(fmt::format("capture: bad filter '{}': libpcap could not start", expr));
  bpf_program prog{};
  if (pcap_compile(dead.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return core::make_error(fmt::format("capture: bad filter '{}': {}", expr, pcap_geterr(dead.get())));
  }
  std::vector<KernelInsn> out;
  out.reserve(prog.bf_len);
  for (unsigned i = 0; i < prog.bf_len; ++i) {
    const bpf_insn& in = prog.bf_insns[i];
    out.push_back({in.code, in.jt, in.jf, in.k});
  }
  pcap_freecode(&prog);
  return out;
}

}  // namespace detail
}  // namespace picket::capture
