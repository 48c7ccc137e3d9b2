// Transaction: one nf_tables netlink batch (NFNL_MSG_BATCH_BEGIN, messages, NFNL_MSG_BATCH_END)
// built in one growing buffer, with a note per message so a kernel error can be reported as
// "add 2,000 elements to set ban4: File exists" instead of a sequence number.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

struct nlmsghdr;

namespace picket::enforce::nftables {

// Message types the installed kernel headers may predate (DESTROY* arrived in Linux 6.3: delete
// that is not an error when the object is absent).
inline constexpr uint16_t kMsgDestroySetElem = 30;
inline constexpr uint16_t kMsgDestroyObj = 31;

struct MessageNote {
  uint32_t seq = 0;
  std::string what;          // "add 2,000 elements to set ban4"
  bool may_be_absent = false;  // a delete whose ENOENT/EBUSY may be dropped (kernels without DESTROY)
};

class Transaction {
 public:
  // Sequence numbers start at `first_seq` (batch begin) and grow by one per message.
  explicit Transaction(uint32_t first_seq);

  // Starts a message of nf_tables `type` (NFT_MSG_*) for the inet family; the caller appends
  // attributes (libmnl / libnftnl) within `room` bytes, then calls end_message().
  nlmsghdr* begin_message(uint16_t type, uint16_t flags, size_t room = kDefaultRoom);
  void end_message(nlmsghdr* nlh, std::string what, bool may_be_absent = false);

  // The framed batch (BEGIN ... END); the transaction stays usable (for without()).
  std::span<const uint8_t> finish();
  // A copy holding every message except those whose sequence number is in `drop` (for a retry).
  Transaction without(const std::unordered_set<uint32_t>& drop) const;

  size_t message_count() const noexcept { return notes_.size(); }
  bool empty() const noexcept { return notes_.empty(); }
  uint32_t begin_seq() const noexcept { return first_seq_; }
  uint32_t next_seq() const noexcept { return seq_; }
  const MessageNote* note(uint32_t seq) const noexcept;
  const std::vector<MessageNote>& notes() const noexcept { return notes_; }

  // Message payload views (without BEGIN/END), for tests and the fake socket.
  std::vector<const nlmsghdr*> messages() const;

  static constexpr size_t kDefaultRoom = 8192;

 private:
  void append_control(uint16_t type, uint32_t seq);

  uint32_t first_seq_;
  uint32_t seq_;
  std::vector<uint8_t> buf_;       // BEGIN + messages (END is appended by finish() into out_)
  std::vector<uint8_t> out_;
  std::vector<MessageNote> notes_;
  std::vector<size_t> offsets_;    // where each message starts in buf_
};

}  // namespace picket::enforce::nftables
