#include "enforce/nftables/transaction.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>

namespace picket::enforce::nftables {

namespace {
constexpr size_t kControlRoom = 64;
}

Transaction::Transaction(uint32_t first_seq) : first_seq_(first_seq), seq_(first_seq + 1) {
  buf_.reserve(64 * 1024);
  append_control(NFNL_MSG_BATCH_BEGIN, first_seq_);
}

void Transaction::append_control(uint16_t type, uint32_t seq) {
  size_t at = buf_.size();
  buf_.resize(at + kControlRoom);
  auto* p = reinterpret_cast<char*>(buf_.data() + at);
  nlmsghdr* nlh = type == NFNL_MSG_BATCH_BEGIN ? nftnl_batch_begin(p, seq) : nftnl_batch_end(p, seq);
  buf_.resize(at + NLMSG_ALIGN(nlh->nlmsg_len));
}

nlmsghdr* Transaction::begin_message(uint16_t type, uint16_t flags, size_t room) {
  size_t at = buf_.size();
  if (buf_.capacity() < at + room) buf_.reserve(std::max(buf_.capacity() * 2, at + room));
  buf_.resize(at + room);
  offsets_.push_back(at);
  return nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf_.data() + at), type, NFPROTO_INET, flags, seq_);
}

void Transaction::end_message(nlmsghdr* nlh, std::string what, bool may_be_absent) {
  size_t at = offsets_.back();
  buf_.resize(at + NLMSG_ALIGN(nlh->nlmsg_len));
  notes_.push_back({seq_, std::move(what), may_be_absent});
  ++seq_;
}

std::span<const uint8_t> Transaction::finish() {
  out_ = buf_;
  size_t at = out_.size();
  out_.resize(at + kControlRoom);
  nlmsghdr* nlh = nftnl_batch_end(reinterpret_cast<char*>(out_.data() + at), seq_);
  out_.resize(at + NLMSG_ALIGN(nlh->nlmsg_len));
  return out_;
}

Transaction Transaction::without(const std::unordered_set<uint32_t>& drop) const {
  Transaction t(first_seq_);
  t.seq_ = seq_;
  for (size_t i = 0; i < notes_.size(); ++i) {
    if (drop.count(notes_[i].seq)) continue;
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data() + offsets_[i]);
    size_t len = NLMSG_ALIGN(nlh->nlmsg_len);
    t.offsets_.push_back(t.buf_.size());
    t.buf_.insert(t.buf_.end(), buf_.begin() + static_cast<ptrdiff_t>(offsets_[i]),
                  buf_.begin() + static_cast<ptrdiff_t>(offsets_[i] + len));
    t.notes_.push_back(notes_[i]);
  }
  return t;
}

const MessageNote* Transaction::note(uint32_t seq) const noexcept {
  auto it = std::lower_bound(notes_.begin(), notes_.end(), seq,
                             [](const MessageNote& n, uint32_t s) { return n.seq < s; });
  return it != notes_.end() && it->seq == seq ? &*it : nullptr;
}

std::vector<const nlmsghdr*> Transaction::messages() const {
  std::vector<const nlmsghdr*> out;
  out.reserve(offsets_.size());
  for (size_t at : offsets_) out.push_back(reinterpret_cast<const nlmsghdr*>(buf_.data() + at));
  return out;
}

}  // namespace picket::enforce::nftables
