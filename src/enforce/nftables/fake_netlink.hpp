// A stand-in for the kernel's netfilter netlink socket in unit tests: records every transaction,
// answers with errors a test chooses, and serves dumps from elements a test sets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "enforce/nftables/elements.hpp"
#include "enforce/nftables/netlink.hpp"

namespace picket::enforce::nftables::testing {

// One message of a recorded transaction.
struct SentMessage {
  uint16_t type = 0;   // NFT_MSG_* (subsystem byte stripped)
  uint16_t flags = 0;
  uint32_t seq = 0;
  std::vector<uint8_t> bytes;  // the whole message
  const nlmsghdr& header() const { return *reinterpret_cast<const nlmsghdr*>(bytes.data()); }
};

struct FakeKernel {
  std::vector<std::vector<SentMessage>> transactions;  // BEGIN and END left out
  std::vector<uint32_t> begin_seqs;
  // Decides the answers to a transaction (default: none = committed).
  std::function<std::vector<KernelAnswer>(const std::vector<SentMessage>&, uint32_t begin_seq)> answer;
  // Dump contents by set name; a set not listed answers `missing_error` (ENOENT by default).
  std::map<std::string, std::vector<ParsedElement>> sets;
  int missing_error = 2;  // ENOENT
  bool malformed_dump = false;
  int dumps = 0;
};

std::unique_ptr<NetlinkSocket> make_fake_socket(std::shared_ptr<FakeKernel> kernel);

}  // namespace picket::enforce::nftables::testing
