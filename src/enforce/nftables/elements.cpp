#include "enforce/nftables/elements.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstring>

#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables {

namespace {

// A netlink attribute length is 16 bits, so the elements nest must stay below 64 KiB.
constexpr size_t kNestLimit = 60000;
constexpr size_t kMaxElementBytes = 400;  // key 24 + flags + timeout + objref/comment ≤ 255 + headers
constexpr size_t kMessageRoom = kNestLimit + kMaxElementBytes + 1024;
constexpr uint8_t kUdataSetElemComment = 0;  // NFTNL_UDATA_SET_ELEM_COMMENT, as nft reads it
constexpr size_t kMaxComment = 127;

__extension__ typedef unsigned __int128 U128;

// libmnl's mnl_attr_for_each* macros assign void* and do not compile as C++.
template <typename F>
void for_each_attr(const void* data, size_t len, F&& f) {
  const auto* a = static_cast<const nlattr*>(data);
  int left = static_cast<int>(len);
  while (mnl_attr_ok(a, left)) {
    f(a);
    left -= static_cast<int>(MNL_ALIGN(a->nla_len));
    a = mnl_attr_next(a);
  }
}
template <typename F>
void for_each_nested(const nlattr* nest, F&& f) {
  for_each_attr(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), std::forward<F>(f));
}

void put_element(nlmsghdr* nlh, const Element& e) {
  nlattr* nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  if (e.interval_end) mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
  nlattr* key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, e.key_len, e.key.data());
  mnl_attr_nest_end(nlh, key);
  if (e.timeout_ms != 0) mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(e.timeout_ms));
  if (!e.objref.empty()) mnl_attr_put_strz(nlh, NFTA_SET_ELEM_OBJREF, e.objref.substr(0, 255).c_str());
  if (!e.comment.empty()) {
    size_t n = std::min(e.comment.size(), kMaxComment);
    uint8_t udata[2 + kMaxComment + 1];
    udata[0] = kUdataSetElemComment;
    udata[1] = static_cast<uint8_t>(n + 1);
    std::memcpy(udata + 2, e.comment.data(), n);
    udata[2 + n] = 0;
    mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, n + 3, udata);
  }
  mnl_attr_nest_end(nlh, nest);
}

std::string key_text(const uint8_t* key, uint8_t len) {
  if (len == 4 || len == 16) return address_from_key(key, len).to_string();
  if (len == 12 || len == 24) {
    uint8_t alen = len == 12 ? 4 : 16;
    uint16_t port = static_cast<uint16_t>((key[alen + 4] << 8) | key[alen + 5]);
    return fmt::format("{} proto {} port {}", address_from_key(key, alen).to_string(), key[alen], port);
  }
  return fmt::format("<{}-byte key>", len);
}

U128 to_u128(const core::IpAddress& a) {
  U128 v = 0;
  int n = a.is_v4() ? 4 : 16;
  for (int i = 0; i < n; ++i) v = (v << 8) | a.bytes()[static_cast<size_t>(i)];
  return v;
}

core::IpAddress from_u128(U128 v, core::Family f) {
  uint8_t b[16];
  int n = f == core::Family::v4 ? 4 : 16;
  for (int i = n - 1; i >= 0; --i) {
    b[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
  return f == core::Family::v4 ? core::IpAddress::v4_bytes(b) : core::IpAddress::v6_bytes(b);
}

std::string parse_comment(const nlattr* attr) {
  const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
  size_t left = mnl_attr_get_payload_len(attr);
  while (left >= 2) {
    uint8_t type = p[0];
    uint8_t len = p[1];
    if (static_cast<size_t>(len) + 2 > left) break;
    if (type == kUdataSetElemComment) {
      const char* s = reinterpret_cast<const char*>(p + 2);
      return std::string(s, strnlen(s, len));
    }
    p += 2 + len;
    left -= 2 + static_cast<size_t>(len);
  }
  return {};
}

bool parse_one(const nlattr* nest, ParsedElement& out) {
  bool have_key = false;
  bool bad = false;
  for_each_nested(nest, [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case NFTA_SET_ELEM_KEY:
        for_each_nested(attr, [&](const nlattr* inner) {
          if (mnl_attr_get_type(inner) != NFTA_DATA_VALUE) return;
          uint16_t len = mnl_attr_get_payload_len(inner);
          if (len == 0 || len > out.key.size()) {
            bad = true;
            return;
          }
          std::memcpy(out.key.data(), mnl_attr_get_payload(inner), len);
          out.key_len = static_cast<uint8_t>(len);
          have_key = true;
        });
        break;
      case NFTA_SET_ELEM_FLAGS:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) bad = true;
        else out.interval_end = (ntohl(mnl_attr_get_u32(attr)) & NFT_SET_ELEM_INTERVAL_END) != 0;
        break;
      case NFTA_SET_ELEM_TIMEOUT:
        if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0) bad = true;
        else out.timeout_ms = be64toh(mnl_attr_get_u64(attr));
        break;
      case NFTA_SET_ELEM_EXPIRATION:
        if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0) bad = true;
        else out.expires_ms = be64toh(mnl_attr_get_u64(attr));
        break;
      case NFTA_SET_ELEM_OBJREF: {
        const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
        out.objref.assign(s, strnlen(s, mnl_attr_get_payload_len(attr)));
        break;
      }
      case NFTA_SET_ELEM_USERDATA:
        out.comment = parse_comment(attr);
        break;
      default:
        break;
    }
  });
  return have_key && !bad;
}

std::string attr_string(const nlattr* attr) {
  const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
  return std::string(s, strnlen(s, mnl_attr_get_payload_len(attr)));
}

}  // namespace

void append_elements(Transaction& tx, uint16_t type, uint16_t flags, std::string_view table, std::string_view set,
                     std::span<const Element> elements, std::string_view verb, bool may_be_absent,
                     bool one_per_message) {
  const std::string table_z(table);
  const std::string set_z(set);
  const char* preposition = verb == "add" ? "to" : "from";
  size_t i = 0;
  while (i < elements.size()) {
    nlmsghdr* nlh = tx.begin_message(type, flags, kMessageRoom);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table_z.c_str());
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set_z.c_str());
    nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    const size_t first = i;
    while (i < elements.size()) {
      auto used = static_cast<size_t>(static_cast<char*>(mnl_nlmsg_get_payload_tail(nlh)) -
                                      reinterpret_cast<char*>(list));
      if (i > first && (one_per_message || used + kMaxElementBytes > kNestLimit)) break;
      put_element(nlh, elements[i]);
      ++i;
    }
    mnl_attr_nest_end(nlh, list);
    const Element& e = elements[first];
    std::string what = i - first == 1
        ? fmt::format("{} element {} {} set {}", verb, key_text(e.key.data(), e.key_len), preposition, set)
        : fmt::format("{} {} elements ({}, ...) {} set {}", verb, i - first, key_text(e.key.data(), e.key_len),
                      preposition, set);
    tx.end_message(nlh, std::move(what), may_be_absent);
  }
}

std::optional<ParsedElements> parse_elements(const nlmsghdr& nlh) {
  if (nlh.nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return std::nullopt;
  ParsedElements out;
  bool bad = false;
  const auto* payload = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(&nlh)) + MNL_ALIGN(sizeof(nfgenmsg));
  size_t len = nlh.nlmsg_len - NLMSG_LENGTH(MNL_ALIGN(sizeof(nfgenmsg)));
  for_each_attr(payload, len, [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case NFTA_SET_ELEM_LIST_TABLE: out.table = attr_string(attr); break;
      case NFTA_SET_ELEM_LIST_SET: out.set = attr_string(attr); break;
      case NFTA_SET_ELEM_LIST_ELEMENTS:
        for_each_nested(attr, [&](const nlattr* elem) {
          ParsedElement pe;
          if (!parse_one(elem, pe)) bad = true;
          else out.elements.push_back(std::move(pe));
        });
        break;
      default: break;
    }
  });
  if (bad) return std::nullopt;
  return out;
}

std::vector<uint8_t> build_get_elements(uint32_t seq, std::string_view table, std::string_view set) {
  std::vector<uint8_t> buf(1024);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(buf.data()), NFT_MSG_GETSETELEM, NFPROTO_INET,
                                        NLM_F_DUMP | NLM_F_ACK, seq);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, std::string(table).c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, std::string(set).c_str());
  buf.resize(nlh->nlmsg_len);
  return buf;
}

Element address_element(const core::IpAddress& a) {
  Element e;
  e.key_len = a.is_v4() ? 4 : 16;
  std::memcpy(e.key.data(), a.bytes().data(), e.key_len);
  return e;
}

std::vector<Element> prefix_elements(const core::Prefix& p) {
  std::vector<Element> out;
  out.push_back(address_element(p.address()));
  const int bits = p.address().bit_width();
  if (p.length() == 0) return out;  // the whole space: no end
  U128 start = to_u128(p.address());
  U128 size = U128{1} << (bits - p.length());
  U128 max = bits == 128 ? ~U128{0} : (U128{1} << 32) - 1;
  if (max - start < size) return out;  // runs to the top of the space
  Element end = address_element(from_u128(start + size, p.address().family()));
  end.interval_end = true;
  out.push_back(end);
  return out;
}

Element rate_limit_element(const core::IpAddress& target, uint8_t proto, uint16_t port) {
  Element e;
  const size_t alen = target.is_v4() ? 4 : 16;
  std::memcpy(e.key.data(), target.bytes().data(), alen);
  e.key[alen] = proto;
  e.key[alen + 4] = static_cast<uint8_t>(port >> 8);
  e.key[alen + 5] = static_cast<uint8_t>(port);
  e.key_len = static_cast<uint8_t>(alen + 8);
  return e;
}

core::IpAddress address_from_key(const uint8_t* key, uint8_t key_len) {
  if (key_len == 4) return core::IpAddress::v4_bytes(key);
  if (key_len == 16) return core::IpAddress::v6_bytes(key);
  return {};
}

std::vector<core::Prefix> range_to_prefixes(const core::IpAddress& start, const std::optional<core::IpAddress>& end) {
  std::vector<core::Prefix> out;
  const core::Family f = start.family();
  const int bits = start.bit_width();
  const U128 max = bits == 128 ? ~U128{0} : (U128{1} << 32) - 1;
  U128 cur = to_u128(start);
  U128 last = max;
  if (end) {
    U128 e = to_u128(*end);
    if (end->family() != f || e <= cur) return out;
    last = e - 1;
  }
  for (int guard = 0; guard < 2 * 128 + 2; ++guard) {
    int k = bits;
    for (; k > 0; --k) {
      U128 mask = k == 128 ? ~U128{0} : (U128{1} << k) - 1;
      if ((cur & mask) == 0 && last - cur >= mask) break;
    }
    out.emplace_back(from_u128(cur, f), bits - k);
    U128 mask = k == 128 ? ~U128{0} : (U128{1} << k) - 1;
    if (last - cur == mask) break;  // covered to `last` (also avoids overflow at the top)
    cur += mask + 1;
  }
  return out;
}

std::vector<PrefixEntry> intervals_to_prefixes(std::vector<ParsedElement> elements, core::Family family) {
  const uint8_t want_len = family == core::Family::v4 ? 4 : 16;
  std::erase_if(elements, [&](const ParsedElement& e) { return e.key_len != want_len; });
  // Two adjacent prefixes share a key (end of one = start of the next): the end sorts first.
  std::sort(elements.begin(), elements.end(), [](const ParsedElement& a, const ParsedElement& b) {
    int c = std::memcmp(a.key.data(), b.key.data(), a.key_len);
    if (c != 0) return c < 0;
    return a.interval_end && !b.interval_end;
  });
  std::vector<PrefixEntry> out;
  const ParsedElement* open = nullptr;
  auto emit = [&](const ParsedElement& s, const std::optional<core::IpAddress>& end) {
    for (const auto& p : range_to_prefixes(address_from_key(s.key.data(), s.key_len), end)) {
      out.push_back({p, s.expires_ms, s.comment});
    }
  };
  for (const auto& e : elements) {
    if (e.interval_end) {
      // An end whose start has expired (and not yet been collected) closes nothing.
      if (open != nullptr) emit(*open, address_from_key(e.key.data(), e.key_len));
      open = nullptr;
    } else {
      // A start right after a start: the first one ran to the top (cannot happen for ranges the
      // kernel accepted, kept so a damaged dump still yields something sane).
      if (open != nullptr) emit(*open, address_from_key(e.key.data(), e.key_len));
      open = &e;
    }
  }
  if (open != nullptr) emit(*open, std::nullopt);
  return out;
}

}  // namespace picket::enforce::nftables
