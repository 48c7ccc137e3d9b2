#include "enforce/nftables/nftables_enforcer.hpp"

#include <fmt/format.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "enforce/nftables/ruleset.hpp"
#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables {

namespace {

constexpr int kDumpAttempts = 3;
constexpr int kTransactAttempts = 3;
constexpr size_t kMaxComment = 64;

uint64_t to_ms(core::Duration d) { return d.ns <= 0 ? 0 : static_cast<uint64_t>((d.ns + 999'999) / 1'000'000); }

// Element comments end up in `nft list` output: printable ASCII only, short.
std::string comment_for(const std::string& detector) {
  std::string out;
  for (char c : detector.substr(0, kMaxComment)) out += (c >= 0x20 && c < 0x7f && c != '"') ? c : '_';
  return out;
}

// Errors every nf_tables request can get, with what the operator should do about them.
std::string errno_message(int e, std::string_view what) {
  if (e == EPERM || e == EACCES) {
    return fmt::format("nftables: {}: {} (changing nftables needs CAP_NET_ADMIN: run picket as root)", what,
                       std::strerror(e));
  }
  if (e == EOPNOTSUPP || e == EPROTONOSUPPORT || e == EAFNOSUPPORT) {
    return fmt::format("nftables not available: {}: {} (is the nf_tables kernel module missing?)", what,
                       std::strerror(e));
  }
  return fmt::format("nftables: {}: {}", what, std::strerror(e));
}

struct HostIntent {
  bool add = false;
  bool escalation = false;
  uint64_t timeout_ms = 0;
  std::string comment;
};

struct RateKey {
  core::IpAddress target;
  uint8_t proto = 0;
  uint16_t port = 0;
  friend bool operator==(const RateKey&, const RateKey&) = default;
};
struct RateKeyHash {
  size_t operator()(const RateKey& k) const noexcept { return k.target.hash() ^ (size_t{k.proto} << 16) ^ k.port; }
};
struct RateIntent {
  bool add = false;
  uint32_t rate = 0;
  uint64_t timeout_ms = 0;
};

// Keeps the order decisions first mention a key (so messages are built deterministically) while
// later decisions for the same key replace the intent: the batch's net effect per key.
template <typename Key, typename Intent, typename Hash>
class Intents {
 public:
  void set(const Key& k, Intent v) {
    auto [it, fresh] = index_.try_emplace(k, items_.size());
    if (fresh) items_.emplace_back(k, std::move(v));
    else items_[it->second].second = std::move(v);
  }
  const std::vector<std::pair<Key, Intent>>& items() const { return items_; }

 private:
  std::unordered_map<Key, size_t, Hash> index_;
  std::vector<std::pair<Key, Intent>> items_;
};

// Address elements (ban4/6, trap4/6) as bans with their time left; `detector` empty: the
// element's comment names it.
void append_host_bans(std::vector<core::Ban>& out, const std::vector<ParsedElement>& elements,
                      std::string_view detector) {
  for (const auto& e : elements) {
    core::IpAddress a = address_from_key(e.key.data(), e.key_len);
    if (a.empty()) continue;
    core::Ban b;
    b.target = core::Prefix(a, a.bit_width());
    b.remaining = core::Duration::millis(static_cast<int64_t>(e.expires_ms));
    b.detector = detector.empty() ? e.comment : std::string(detector);
    out.push_back(std::move(b));
  }
}

std::string_view host_set(core::Family f) { return f == core::Family::v4 ? kSetBan4 : kSetBan6; }
std::string_view net_set(core::Family f) { return f == core::Family::v4 ? kSetBanNet4 : kSetBanNet6; }
std::string_view rate_map(core::Family f) { return f == core::Family::v4 ? kMapRate4 : kMapRate6; }

}  // namespace

NftablesEnforcer::NftablesEnforcer(NftablesOptions options, std::unique_ptr<NetlinkSocket> socket)
    : options_(std::move(options)),
      socket_(std::move(socket)),
      // Like nft: start from the clock so answers to an earlier process's socket never match.
      seq_(static_cast<uint32_t>(std::time(nullptr)) & 0x3fffffffu) {}

NftablesEnforcer::~NftablesEnforcer() = default;

core::Result<std::unique_ptr<NftablesEnforcer>> NftablesEnforcer::open(NftablesOptions options) {
  auto sock = open_kernel_socket();
  if (!sock) {
    bool missing = sock.error().message.find(std::strerror(EPROTONOSUPPORT)) != std::string::npos;
    return core::make_error(fmt::format("{}: {}", missing ? "nftables not available" : "nftables",
                                        sock.error().message));
  }
  return std::make_unique<NftablesEnforcer>(std::move(options), std::move(sock).value());
}

uint32_t NftablesEnforcer::take_seq() const noexcept {
  if (seq_ > 0xf0000000u) seq_ = 1;
  return seq_++;
}

Transaction NftablesEnforcer::new_transaction() const {
  if (seq_ > 0xf0000000u) seq_ = 1;
  return Transaction(seq_);
}

core::Error NftablesEnforcer::kernel_error(const Transaction& tx, const std::vector<KernelAnswer>& answers) const {
  const KernelAnswer& a = answers.front();
  std::string msg;
  if (a.seq == tx.begin_seq()) {
    msg = errno_message(a.error, "transaction");
  } else {
    const MessageNote* note = tx.note(a.seq);
    std::string what = note != nullptr ? note->what : fmt::format("message {}", a.seq);
    msg = errno_message(a.error, what);
    if (a.error == EEXIST && what.starts_with("create")) {
      msg += fmt::format(" (table inet {} has another layout, e.g. from an older picket: delete it with "
                         "`nft delete table inet {}`)",
                         options_.table, options_.table);
    }
  }
  if (!a.detail.empty()) msg += fmt::format(" [kernel: {}]", a.detail);
  if (answers.size() > 1) msg += fmt::format(" (and {} more errors)", answers.size() - 1);
  return core::make_error(std::move(msg));
}

core::Result<void> NftablesEnforcer::run(Transaction tx) {
  seq_ = tx.next_seq() + 1;
  for (int attempt = 0; attempt < kTransactAttempts; ++attempt) {
    if (tx.empty()) return {};
    auto answers = socket_->transact(tx.finish());
    if (!answers) return core::make_error("nftables: " + answers.error().message);
    if (answers->empty()) {
      ++stats_.transactions;
      stats_.messages += tx.message_count();
      return {};
    }
    // Deletes of what may already be gone (kernels without DESTROY): drop them and resend.
    std::unordered_set<uint32_t> drop;
    bool all_absent = true;
    for (const auto& a : *answers) {
      const MessageNote* n = tx.note(a.seq);
      if (n == nullptr || !n->may_be_absent || (a.error != ENOENT && a.error != EBUSY)) {
        all_absent = false;
        break;
      }
      drop.insert(a.seq);
    }
    if (!all_absent || attempt + 1 == kTransactAttempts) return kernel_error(tx, *answers);
    ++stats_.retries;
    tx = tx.without(drop);
  }
  return {};
}

core::Result<void> NftablesEnforcer::init() {
  Transaction tx = new_transaction();
  append_init(tx, options_.table, trap_);
  if (auto r = run(std::move(tx)); !r) {
    if (!trap_.enabled) return r;
    // A kernel without what the trap needs (dynamic sets with a limit per element) must not cost
    // the bans: set up without the trap and say why.
    trap_.enabled = false;
    Transaction plain = new_transaction();
    append_init(plain, options_.table, trap_);
    if (auto again = run(std::move(plain)); !again) return again;
    trap_error_ = "the kernel refused the scan trap, which is off: " + r.error().message;
  }
  if (options_.delete_mode == DeleteMode::automatic) {
    if (auto r = probe_destroy(); !r) return r;
  } else {
    use_destroy_ = options_.delete_mode == DeleteMode::destroy;
  }
  if (auto r = load_prefix_mirror(); !r) return r;
  if (auto r = collect_limit_garbage(); !r) return r;
  initialised_ = true;
  return {};
}

core::Result<void> NftablesEnforcer::probe_destroy() {
  // DESTROY of a key that can never be present (port 0 is rejected by validate_decision).
  Transaction tx = new_transaction();
  Element e = rate_limit_element(core::IpAddress::v4(0), 6, 0);
  append_elements(tx, kMsgDestroySetElem, NLM_F_ACK, options_.table, kMapRate4, std::span(&e, 1), "probe", false);
  seq_ = tx.next_seq() + 1;
  auto answers = socket_->transact(tx.finish());
  if (!answers) return core::make_error("nftables: " + answers.error().message);
  use_destroy_ = answers->empty();
  return {};
}

core::Result<std::vector<ParsedElement>> NftablesEnforcer::dump_set(std::string_view set) const {
  std::vector<ParsedElement> out;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    out.clear();
    bool malformed = false;
    auto request = build_get_elements(take_seq(), options_.table, set);
    auto answer = socket_->dump(request, [&](const nlmsghdr& nlh) {
      auto parsed = parse_elements(nlh);
      if (!parsed) {
        malformed = true;
        return;
      }
      for (auto& e : parsed->elements) out.push_back(std::move(e));
    });
    if (!answer) return core::make_error(fmt::format("nftables: list set {}: {}", set, answer.error().message));
    if (answer->error == EINTR) continue;  // the set changed during the dump: read it again
    if (answer->error == ENOENT) return std::vector<ParsedElement>{};
    if (answer->error != 0) return core::make_error(errno_message(answer->error, fmt::format("list set {}", set)));
    if (malformed) return core::make_error(fmt::format("nftables: list set {}: malformed answer from the kernel", set));
    return out;
  }
  return core::make_error(fmt::format("nftables: list set {}: interrupted {} times by changes", set, kDumpAttempts));
}

core::Result<void> NftablesEnforcer::load_prefix_mirror() {
  Mirror m;
  const auto now = Clock::now();
  for (core::Family f : {core::Family::v4, core::Family::v6}) {
    auto elements = dump_set(net_set(f));
    if (!elements) return elements.error();
    for (auto& pe : intervals_to_prefixes(std::move(elements).value(), f)) {
      PrefixState st;
      if (pe.expires_ms != 0) st.expires = now + std::chrono::milliseconds(pe.expires_ms);
      st.comment = pe.comment;
      m[pe.prefix] = st;
    }
  }
  prefixes_ = std::move(m);
  return {};
}

core::Result<NftablesEnforcer::LimitState> NftablesEnforcer::read_limits() const {
  LimitState st;
  bool malformed = false;
  auto answer = socket_->dump(build_get_limits(take_seq(), options_.table), [&](const nlmsghdr& nlh) {
    if (auto l = parse_limit(nlh)) st.rate_of[l->name] = l->rate;
    else malformed = true;
  });
  if (!answer) return core::make_error("nftables: list limits: " + answer.error().message);
  if (answer->error == ENOENT) return st;
  if (answer->error != 0) return core::make_error(errno_message(answer->error, "list limits"));
  if (malformed) return core::make_error("nftables: list limits: malformed answer from the kernel");
  for (core::Family f : {core::Family::v4, core::Family::v6}) {
    auto elements = dump_set(rate_map(f));
    if (!elements) return elements.error();
    for (const auto& e : *elements) {
      st.object_of_key[std::string(reinterpret_cast<const char*>(e.key.data()), e.key_len)] = e.objref;
    }
    st.elements[f == core::Family::v4 ? 0 : 1] = std::move(elements).value();
  }
  return st;
}

void NftablesEnforcer::append_limit_garbage(Transaction& tx, const LimitState& state,
                                            const std::unordered_set<std::string>& released) const {
  std::unordered_set<std::string> live;
  for (const auto& [key, name] : state.object_of_key) live.insert(name);
  const uint16_t type = use_destroy_ ? kMsgDestroyObj : static_cast<uint16_t>(NFT_MSG_DELOBJ);
  std::vector<std::string> names;
  for (const auto& [name, rate] : state.rate_of) {
    if (!live.count(name) || released.count(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) append_delete_limit(tx, options_.table, name, type, true);
}

core::Result<void> NftablesEnforcer::collect_limit_garbage() {
  auto state = read_limits();
  if (!state) return state.error();
  Transaction tx = new_transaction();
  append_limit_garbage(tx, *state, {});
  return run(std::move(tx));
}

void NftablesEnforcer::plan_prefix_block(Mirror& m, const core::Prefix& p, PrefixState state) {
  for (const auto& [q, st] : m) {
    if (q.length() < p.length() && q.contains(p.address())) {
      ++stats_.prefixes_covered;  // a wider ban already drops it
      return;
    }
  }
  std::erase_if(m, [&](const auto& kv) { return kv.first.length() >= p.length() && p.contains(kv.first.address()); });
  state.touched = true;
  m[p] = std::move(state);
}

core::Result<void> NftablesEnforcer::apply(std::span<const core::Decision> batch) {
  for (const auto& d : batch) {
    if (auto r = validate_decision(d); !r) return core::make_error("nftables: invalid decision: " + r.error().message);
  }
  if (!initialised_) return core::make_error("nftables: apply before init()");
  if (batch.empty()) return {};

  const auto now = Clock::now();
  Mirror before = prefixes_;
  std::erase_if(before, [&](const auto& kv) { return kv.second.expires && *kv.second.expires <= now; });
  Mirror after = before;
  Intents<core::IpAddress, HostIntent, core::IpAddressHash> hosts;
  Intents<RateKey, RateIntent, RateKeyHash> rates;

  for (const auto& d : batch) {
    const core::IpAddress& addr = d.target.address();
    switch (d.action) {
      case core::DecisionAction::block:
        if (d.target.is_host()) {
          hosts.set(addr, {true, d.offence > 1, to_ms(d.duration), comment_for(d.detector)});
        } else {
          PrefixState st;
          if (d.duration.ns > 0) st.expires = now + std::chrono::nanoseconds(d.duration.ns);
          st.timeout_ms = to_ms(d.duration);
          st.comment = comment_for(d.detector);
          plan_prefix_block(after, d.target, std::move(st));
        }
        break;
      case core::DecisionAction::unblock:
        if (d.target.is_host()) hosts.set(addr, {});
        else after.erase(d.target);
        break;
      case core::DecisionAction::rate_limit:
        rates.set({addr, d.proto, d.port}, {true, d.rate_per_second, to_ms(d.duration)});
        break;
      case core::DecisionAction::unrate_limit:
        rates.set({addr, d.proto, d.port}, {});
        break;
    }
  }

  // Element removals first, then limit objects, then additions (one transaction, in this order).
  std::vector<Element> remove_host[2], add_host[2], remove_net[2], add_net[2], remove_rate[2], add_rate[2];
  auto fi = [](core::Family f) { return f == core::Family::v4 ? 0 : 1; };
  std::vector<std::pair<RateKey, RateIntent>> rate_items;
  for (const auto& [addr, in] : hosts.items()) {
    Element e = address_element(addr);
    // Without DESTROY a re-block of a present element only refreshes for escalations (see header).
    if (!in.add || use_destroy_ || in.escalation) remove_host[fi(addr.family())].push_back(e);
    if (in.add) {
      e.timeout_ms = in.timeout_ms;
      e.comment = in.comment;
      add_host[fi(addr.family())].push_back(std::move(e));
    }
  }
  for (const auto& [p, st] : before) {
    auto it = after.find(p);
    if (it == after.end() || it->second.touched) {
      for (auto& e : prefix_elements(p)) remove_net[fi(p.address().family())].push_back(std::move(e));
    }
  }
  for (auto& [p, st] : after) {
    if (!st.touched) continue;
    for (auto& e : prefix_elements(p)) {
      if (!e.interval_end) {
        e.timeout_ms = st.timeout_ms;
        e.comment = st.comment;
      }
      add_net[fi(p.address().family())].push_back(std::move(e));
    }
  }
  for (const auto& [k, in] : rates.items()) {
    remove_rate[fi(k.target.family())].push_back(rate_limit_element(k.target, k.proto, k.port));
  }

  // Limit objects are few (one per protected target): read them to replace and collect them.
  std::optional<LimitState> limits;
  if (!rates.items().empty()) {
    auto state = read_limits();
    if (!state) return state.error();
    limits = std::move(state).value();
  }

  Transaction tx = new_transaction();
  const uint16_t del_elem = use_destroy_ ? kMsgDestroySetElem : static_cast<uint16_t>(NFT_MSG_DELSETELEM);
  const bool one_each = !use_destroy_;
  for (core::Family f : {core::Family::v4, core::Family::v6}) {
    int i = fi(f);
    append_elements(tx, del_elem, NLM_F_ACK, options_.table, host_set(f), remove_host[i], "delete", true, one_each);
    append_elements(tx, del_elem, NLM_F_ACK, options_.table, net_set(f), remove_net[i], "delete", true, one_each);
    append_elements(tx, del_elem, NLM_F_ACK, options_.table, rate_map(f), remove_rate[i], "delete", true, one_each);
  }
  if (limits) {
    const LimitState* state = &*limits;
    std::unordered_set<std::string> released;
    for (const auto& [k, in] : rates.items()) {
      Element e = rate_limit_element(k.target, k.proto, k.port);
      auto it = state->object_of_key.find(std::string(reinterpret_cast<const char*>(e.key.data()), e.key_len));
      if (it != state->object_of_key.end()) released.insert(it->second);
    }
    append_limit_garbage(tx, *state, released);
  }
  for (const auto& [k, in] : rates.items()) {
    if (!in.add) continue;
    std::string name = limit_name(k.target.to_string(), k.proto, k.port, tx.begin_seq());
    append_new_limit(tx, options_.table, name, in.rate);
    Element e = rate_limit_element(k.target, k.proto, k.port);
    e.timeout_ms = in.timeout_ms;
    e.objref = std::move(name);
    add_rate[fi(k.target.family())].push_back(std::move(e));
  }
  size_t added = 0, removed = 0;
  for (core::Family f : {core::Family::v4, core::Family::v6}) {
    int i = fi(f);
    append_elements(tx, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, options_.table, host_set(f), add_host[i], "add", false);
    append_elements(tx, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, options_.table, net_set(f), add_net[i], "add", false);
    append_elements(tx, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, options_.table, rate_map(f), add_rate[i], "add", false);
    added += add_host[i].size() + add_net[i].size() + add_rate[i].size();
    removed += remove_host[i].size() + remove_net[i].size() + remove_rate[i].size();
  }
  if (auto r = run(std::move(tx)); !r) return r;
  for (auto& [p, st] : after) st.touched = false;
  prefixes_ = std::move(after);
  stats_.elements_added += added;
  stats_.elements_removed += removed;
  return {};
}

core::Result<std::vector<core::Ban>> NftablesEnforcer::list() const {
  std::vector<core::Ban> out;
  for (core::Family f : {core::Family::v4, core::Family::v6}) {
    auto hosts = dump_set(host_set(f));
    if (!hosts) return hosts.error();
    append_host_bans(out, *hosts, {});
    auto nets = dump_set(net_set(f));
    if (!nets) return nets.error();
    for (auto& pe : intervals_to_prefixes(std::move(nets).value(), f)) {
      core::Ban b;
      b.target = pe.prefix;
      b.remaining = core::Duration::millis(static_cast<int64_t>(pe.expires_ms));
      b.detector = std::move(pe.comment);
      out.push_back(std::move(b));
    }
  }
  return out;
}

core::Result<std::vector<RateLimit>> NftablesEnforcer::list_rate_limits() const {
  auto state = read_limits();
  if (!state) return state.error();
  std::vector<RateLimit> out;
  for (int i = 0; i < 2; ++i) {
    const uint8_t alen = i == 0 ? 4 : 16;
    for (const auto& e : state->elements[i]) {
      if (e.key_len != alen + 8) continue;
      RateLimit rl;
      rl.target = core::Prefix(address_from_key(e.key.data(), alen), alen * 8);
      rl.proto = e.key[alen];
      rl.port = static_cast<uint16_t>((e.key[alen + 4] << 8) | e.key[alen + 5]);
      auto it = state->rate_of.find(e.objref);
      rl.rate_per_second = it == state->rate_of.end() ? 0 : static_cast<uint32_t>(it->second);
      rl.remaining = core::Duration::millis(static_cast<int64_t>(e.expires_ms));
      out.push_back(rl);
    }
  }
  return out;
}

core::Result<void> NftablesEnforcer::flush() {
  // Delete and recreate the table in one transaction: every ban, rate limit and limit object goes
  // at once, and the drop rules are never missing in between.
  Transaction tx = new_transaction();
  append_delete_table(tx, options_.table, NFT_MSG_DELTABLE, true);
  append_init(tx, options_.table, trap_);
  if (auto r = run(std::move(tx)); !r) return r;
  prefixes_.clear();
  return {};
}

core::Result<void> NftablesEnforcer::set_scan_trap(ScanTrap trap) {
  if (trap.closed_ports == 0) return core::make_error("nftables: scan trap: closed_ports must be at least 1");
  if (initialised_) {
    Transaction tx = new_transaction();
    append_trap_rules(tx, options_.table, trap);
    if (auto r = run(std::move(tx)); !r) return r;
  }
  trap_ = std::move(trap);
  trap_error_.clear();
  return {};
}

core::Result<std::vector<core::Ban>> NftablesEnforcer::list_trapped() const {
  std::vector<core::Ban> out;
  for (std::string_view set : {kSetTrap4, kSetTrap6}) {
    auto elements = dump_set(set);
    if (!elements) return elements.error();
    append_host_bans(out, *elements, "scan_trap");
  }
  return out;
}

core::Result<void> NftablesEnforcer::remove() {
  Transaction tx = new_transaction();
  append_delete_table(tx, options_.table, NFT_MSG_DELTABLE, true);
  if (auto r = run(std::move(tx)); !r) return r;
  prefixes_.clear();
  initialised_ = false;
  return {};
}

}  // namespace picket::enforce::nftables
