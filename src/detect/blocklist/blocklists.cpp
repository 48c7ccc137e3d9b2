#include "detect/blocklist/blocklists.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include <fmt/format.h>

namespace picket::detect::blocklist {

namespace {

std::string basename_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return name.empty() ? path : name;
}

// Reads a whole file; on failure returns false with the reason in `error`.
bool read_file(const std::string& path, std::string& out, std::string& error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fileno(f), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      std::fclose(f);
      error = "is a directory";
      return false;
    }
    if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
      std::fclose(f);
      error = fmt::format("larger than {} bytes", kMaxFileBytes);
      return false;
    }
    if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    out.append(buf, n);
    if (out.size() > kMaxFileBytes) {
      std::fclose(f);
      error = fmt::format("larger than {} bytes", kMaxFileBytes);
      return false;
    }
    if (n < sizeof buf) break;
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    error = std::strerror(err);
    return false;
  }
  return true;
}

}  // namespace

size_t Blocklists::memory_bytes() const noexcept {
  return entries_.capacity() * sizeof(Entry) + v4_.memory_bytes() + v6_.memory_bytes() + exempt_v4_.memory_bytes() +
         exempt_v6_.memory_bytes();
}

void Blocklists::build(std::vector<ListEntry>& parsed, const std::vector<uint16_t>& list_of, const ListSpec& spec) {
  // Entry numbers follow load order, and the index keeps the lowest value of a repeated prefix:
  // the first list (and line) that names a prefix is the one findings cite.
  std::vector<RangeIndex<uint32_t>::Item> items4;
  std::vector<RangeIndex<U128>::Item> items6;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const core::Prefix& p = parsed[i].prefix;
    const auto value = static_cast<uint32_t>(i);
    if (p.address().is_v4()) {
      items4.push_back({p.address().v4_host_order(), static_cast<uint8_t>(p.length()), value});
    } else {
      items6.push_back({key_v6(p.address()), static_cast<uint8_t>(p.length()), value});
    }
  }
  const auto s4 = v4_.build(items4);
  const auto s6 = v6_.build(items6);
  prefixes_ = s4.prefixes + s6.prefixes;
  duplicates_ = s4.duplicates + s6.duplicates;
  items4 = {};
  items6 = {};

  // Entries that won no range (duplicates) still sit in `parsed`; keeping them all lets the
  // index values be plain positions. They cost 24 bytes each, only for repeated prefixes.
  entries_.reserve(parsed.size());
  for (size_t i = 0; i < parsed.size(); ++i) entries_.push_back({parsed[i].prefix, parsed[i].line, list_of[i]});
  parsed = {};

  std::vector<RangeIndex<uint32_t>::Item> ex4;
  std::vector<RangeIndex<U128>::Item> ex6;
  for (const auto& p : spec.exempt) {
    if (p.address().is_v4()) {
      ex4.push_back({p.address().v4_host_order(), static_cast<uint8_t>(p.length()), 0});
    } else if (p.address().is_v6()) {
      ex6.push_back({key_v6(p.address()), static_cast<uint8_t>(p.length()), 0});
    }
  }
  (void)exempt_v4_.build(ex4);
  (void)exempt_v6_.build(ex6);
}

std::shared_ptr<const Blocklists> load_lists(const ListSpec& spec) {
  auto out = std::make_shared<Blocklists>();
  std::vector<ListEntry> parsed;
  std::vector<uint16_t> list_of;
  auto note_list = [&](size_t first_entry) {
    list_of.resize(parsed.size(), static_cast<uint16_t>(out->lists_.size() - 1));
    out->lists_.back().entries = parsed.size() - first_entry;
  };
  std::string text;
  for (const auto& path : spec.files) {
    if (out->lists_.size() >= 0xFFFF) {
      out->problems_.push_back({path, 0, true, "too many lists; this one is not loaded"});
      continue;
    }
    ListInfo info;
    info.name = basename_of(path);
    info.path = path;
    text.clear();
    std::string error;
    if (!read_file(path, text, error)) {
      out->problems_.push_back({path, 0, true, fmt::format("cannot read the list: {}", error)});
      out->lists_.push_back(std::move(info));
      continue;
    }
    info.loaded = true;
    out->lists_.push_back(std::move(info));
    const size_t first = parsed.size();
    const ParseCounts c = parse_list(text, path, parsed, out->problems_, kMaxEntries);
    out->lists_.back().lines = c.lines;
    note_list(first);
  }
  text = {};
  if (!spec.inline_prefixes.empty()) {
    ListInfo info;
    info.name = "inline";
    info.loaded = true;
    info.lines = spec.inline_prefixes.size();
    out->lists_.push_back(std::move(info));
    const size_t first = parsed.size();
    uint32_t line = 0;
    for (const auto& p : spec.inline_prefixes) {
      ++line;
      if (p.length() == 0) {
        out->problems_.push_back({"inline", line, true, fmt::format("\"{}\" matches every address", p.to_string())});
        continue;
      }
      if (parsed.size() >= kMaxEntries) break;
      parsed.push_back({p, line});
    }
    note_list(first);
  }
  out->build(parsed, list_of, spec);
  return out;
}

ListSpec list_spec(const config::Config& cfg) {
  ListSpec spec;
  spec.files = cfg.list("detect.blocklist.files");
  spec.inline_prefixes = cfg.prefixes("detect.blocklist.addresses");
  spec.exempt = cfg.prefixes("detect.blocklist.exempt");
  return spec;
}

std::shared_ptr<const Blocklists> load_lists(const config::Config& cfg) {
  const ListSpec spec = list_spec(cfg);
  // The cache key: the settings and each file's identity. A changed file (or a new config)
  // gives a new key, so a reload never sees stale lists.
  std::string key;
  for (const auto& path : spec.files) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      key += fmt::format("f {} {} {} {} {}.{}\n", path, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                         st.st_mtim.tv_nsec);
    } else {
      key += fmt::format("f {} missing\n", path);
    }
  }
  for (const auto& p : spec.inline_prefixes) key += "a " + p.to_string() + "\n";
  for (const auto& p : spec.exempt) key += "x " + p.to_string() + "\n";

  // Shared by every engine in the process: detectors are built per worker from the same config,
  // and the lists can be large (a million prefixes is tens of MB and a second to load).
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const Blocklists>> cache;
  std::lock_guard lock(mu);
  std::erase_if(cache, [](const auto& kv) { return kv.second.expired(); });
  if (auto it = cache.find(key); it != cache.end()) {
    if (auto alive = it->second.lock()) return alive;
  }
  auto lists = load_lists(spec);
  cache[key] = lists;
  return lists;
}

}  // namespace picket::detect::blocklist
