// The libpcap path: pcapng, classic pcap arriving through a pipe, and the rare variants the fast
// path does not parse. libpcap's pointers live only until its next read, so each batch copies its
// packets into one reused buffer (it grows to the largest batch, then allocation stops).
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "capture/sources.hpp"

namespace picket::capture::detail {
namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

class LibpcapFileSource final : public PacketSource {
 public:
  LibpcapFileSource(std::string path, PcapHandle handle, std::optional<BpfFilter> filter, int64_t file_size) noexcept
      : path_(std::move(path)),
        handle_(std::move(handle)),
        filter_(std::move(filter)),
        link_type_(dlt_to_linktype(pcap_datalink(handle_.get()))),
        snaplen_(static_cast<uint32_t>(pcap_snapshot(handle_.get()))),
        file_size_(file_size) {}

  int link_type() const noexcept override { return link_type_; }
  uint32_t snaplen() const noexcept override { return snaplen_; }
  const std::optional<core::Error>& error() const noexcept override { return error_; }
  uint64_t filtered_out() const noexcept override { return filtered_; }
  std::string_view name() const noexcept override { return path_; }
  double progress() const noexcept override {
    if (done_) return 1;
    FILE* f = pcap_file(handle_.get());
    if (file_size_ <= 0 || f == nullptr) return -1;
    const long at = std::ftell(f);
    return at < 0 ? -1 : std::min(1.0, static_cast<double>(at) / static_cast<double>(file_size_));
  }

  size_t read_batch(std::span<core::RawPacket> out) noexcept override {
    if (done_) return 0;
    arena_.clear();
    if (offsets_.size() < out.size()) offsets_.resize(out.size());
    size_t n = 0;
    while (n < out.size()) {
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      const int rc = pcap_next_ex(handle_.get(), &hdr, &data);
      if (rc != 1) {
        if (rc == PCAP_ERROR) {
          error_ = core::Error{fmt::format("{}: {} after {} packets", path_, pcap_geterr(handle_.get()), records_)};
        }
        // PCAP_ERROR_BREAK is the end of the file; 0 (a live-capture timeout) never comes from a file.
        done_ = true;
        break;
      }
      core::RawPacket& p = out[n];
      // Opened with nanosecond precision: tv_usec holds nanoseconds.
      p.ts.ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000'000 + static_cast<int64_t>(hdr->ts.tv_usec);
      p.data = data;
      p.cap_len = hdr->caplen;
      p.wire_len = std::max(hdr->len, hdr->caplen);
      p.ifindex = 0;
      ++records_;
      if (filter_ && !filter_->matches(p)) {
        ++filtered_;
        continue;
      }
      offsets_[n] = arena_.size();
      arena_.insert(arena_.end(), data, data + hdr->caplen);
      ++n;
    }
    // Pointers are fixed only now: the arena may have moved while it grew.
    for (size_t i = 0; i < n; ++i) out[i].data = arena_.data() + offsets_[i];
    return n;
  }

 private:
  std::string path_;
  PcapHandle handle_;
  std::optional<BpfFilter> filter_;
  std::optional<core::Error> error_;
  std::vector<uint8_t> arena_;
  std::vector<size_t> offsets_;
  uint64_t records_ = 0;
  uint64_t filtered_ = 0;
  int link_type_;
  uint32_t snaplen_;
  int64_t file_size_;  // 0 when unknown (pipe): no progress
  bool done_ = false;
};

}  // namespace

core::Result<std::unique_ptr<PacketSource>> open_with_libpcap(const std::string& path, const std::string& bpf_filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle handle(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!handle) return core::make_error(fmt::format("{}: {}", path, errbuf));
  int64_t size = 0;
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) size = st.st_size;

  std::optional<BpfFilter> filter;
  if (!bpf_filter.empty()) {
    auto compiled = BpfFilter::compile(bpf_filter, dlt_to_linktype(pcap_datalink(handle.get())),
                                       static_cast<uint32_t>(pcap_snapshot(handle.get())));
    if (!compiled) return core::make_error(fmt::format("{}: {}", path, compiled.error().message));
    filter.emplace(std::move(compiled).value());
  }
  return std::unique_ptr<PacketSource>(
      std::make_unique<LibpcapFileSource>(path, std::move(handle), std::move(filter), size));
}

}  // namespace picket::capture::detail
