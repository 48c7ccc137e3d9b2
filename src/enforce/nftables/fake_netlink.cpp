#include "enforce/nftables/fake_netlink.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>

namespace picket::enforce::nftables::testing {

namespace {

std::string set_name_of(std::span<const uint8_t> request) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(request.data());
  auto parsed = parse_elements(*nlh);
  return parsed ? parsed->set : std::string();
}

// A GETSETELEM answer as the kernel writes it (with NFTA_SET_ELEM_EXPIRATION).
std::vector<uint8_t> build_reply(uint32_t seq, const std::string& set, const std::vector<ParsedElement>& elements,
                                 bool malformed) {
  std::vector<uint8_t> buf(65536 + 4096);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_NEWSETELEM, NFPROTO_INET,
                                        NLM_F_MULTI, seq);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "picket");
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
  nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (const auto& e : elements) {
    nlattr* n = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    if (e.interval_end) mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
    nlattr* k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, e.key_len, e.key.data());
    mnl_attr_nest_end(nlh, k);
    if (e.timeout_ms) mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(e.timeout_ms));
    if (e.expires_ms) mnl_attr_put_u64(nlh, NFTA_SET_ELEM_EXPIRATION, htobe64(e.expires_ms));
    if (!e.objref.empty()) mnl_attr_put_strz(nlh, NFTA_SET_ELEM_OBJREF, e.objref.c_str());
    if (!e.comment.empty()) {
      std::vector<uint8_t> ud = {0, static_cast<uint8_t>(e.comment.size() + 1)};
      ud.insert(ud.end(), e.comment.begin(), e.comment.end());
      ud.push_back(0);
      mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, ud.size(), ud.data());
    }
    mnl_attr_nest_end(nlh, n);
  }
  if (malformed) {  // a key longer than any picket set has
    uint8_t big[32] = {};
    nlattr* n = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    nlattr* k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, sizeof big, big);
    mnl_attr_nest_end(nlh, k);
    mnl_attr_nest_end(nlh, n);
  }
  mnl_attr_nest_end(nlh, list);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

class FakeSocket final : public NetlinkSocket {
 public:
  explicit FakeSocket(std::shared_ptr<FakeKernel> k) : k_(std::move(k)) {}

  core::Result<std::vector<KernelAnswer>> transact(std::span<const uint8_t> batch) override {
    std::vector<SentMessage> msgs;
    uint32_t begin_seq = 0;
    int len = static_cast<int>(batch.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(batch.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
        begin_seq = nlh->nlmsg_seq;
        continue;
      }
      if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) continue;
      SentMessage m;
      m.type = static_cast<uint16_t>(nlh->nlmsg_type & 0xff);
      m.flags = nlh->nlmsg_flags;
      m.seq = nlh->nlmsg_seq;
      const auto* p = reinterpret_cast<const uint8_t*>(nlh);
      m.bytes.assign(p, p + nlh->nlmsg_len);
      msgs.push_back(std::move(m));
    }
    if (len != 0) return core::make_error("fake: batch has trailing bytes");
    k_->transactions.push_back(msgs);
    k_->begin_seqs.push_back(begin_seq);
    if (k_->answer) return k_->answer(msgs, begin_seq);
    return std::vector<KernelAnswer>{};
  }

  core::Result<KernelAnswer> dump(std::span<const uint8_t> request,
                                  const std::function<void(const nlmsghdr&)>& on_message) override {
    ++k_->dumps;
    const auto* req = reinterpret_cast<const nlmsghdr*>(request.data());
    if ((req->nlmsg_type & 0xff) != NFT_MSG_GETSETELEM) return KernelAnswer{req->nlmsg_seq, 0, {}};
    auto it = k_->sets.find(set_name_of(request));
    if (it == k_->sets.end()) return KernelAnswer{req->nlmsg_seq, k_->missing_error, {}};
    auto reply = build_reply(req->nlmsg_seq, it->first, it->second, k_->malformed_dump);
    on_message(*reinterpret_cast<const nlmsghdr*>(reply.data()));
    return KernelAnswer{req->nlmsg_seq, 0, {}};
  }

 private:
  std::shared_ptr<FakeKernel> k_;
};

}  // namespace

std::unique_ptr<NetlinkSocket> make_fake_socket(std::shared_ptr<FakeKernel> kernel) {
  return std::make_unique<FakeSocket>(std::move(kernel));
}

}  // namespace picket::enforce::nftables::testing
