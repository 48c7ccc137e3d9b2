// BpfFilter: a tcpdump-syntax filter ("tcp port 80") compiled by libpcap for one link type and
// snaplen, run on any RawPacket — file sources use it today, live sources can reuse it.
//
// Contract: compile() never touches a capture handle (it uses pcap_open_dead), so the filter can be
// built before or without a source. matches() is noexcept, allocation-free and safe to call from
// one thread at a time per filter (libpcap's interpreter keeps no state between calls; concurrent
// calls on one filter are fine too, but picket does not rely on that).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/raw_packet.hpp"
#include "core/result.hpp"

struct bpf_insn;  // from <pcap/bpf.h>; kept out of this header so users need not include libpcap

namespace picket::capture {

class BpfFilter {
 public:
  // `link_type` is a LINKTYPE_* number (core::link_type); snaplen 0 means the 256 KiB maximum.
  // Error text: "invalid filter 'tcp prot 80': syntax error" — libpcap's own message.
  static core::Result<BpfFilter> compile(const std::string& expr, int link_type, uint32_t snaplen);

  BpfFilter(BpfFilter&& o) noexcept;
  BpfFilter& operator=(BpfFilter&& o) noexcept;
  BpfFilter(const BpfFilter&) = delete;
  BpfFilter& operator=(const BpfFilter&) = delete;
  ~BpfFilter();

  // True when the program accepts the packet (a non-zero return from the BPF program).
  bool matches(const core::RawPacket& packet) const noexcept;
  const std::string& expression() const noexcept { return expr_; }

 private:
  BpfFilter(std::string expr, bpf_insn* insns, unsigned len) noexcept
      : expr_(std::move(expr)), insns_(insns), len_(len) {}
  void release() noexcept;

  std::string expr_;
  bpf_insn* insns_ = nullptr;  // owned: freed with pcap_freecode
  unsigned len_ = 0;
};

// The DLT_* value libpcap's compiler expects for a LINKTYPE_* number (they differ for raw IP).
int linktype_to_dlt(int link_type) noexcept;
// The LINKTYPE_* number for a DLT_* value libpcap reports (pcap_datalink).
int dlt_to_linktype(int dlt) noexcept;

// The largest caplen picket accepts in any record (tcpdump's default snaplen).
inline constexpr uint32_t kMaxSnaplen = 262144;

}  // namespace picket::capture
