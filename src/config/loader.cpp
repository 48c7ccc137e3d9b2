// Walks the YAML tree against the schema. Only mappings that the schema knows as sections are
// entered, so the recursion is as deep as the schema's paths, whatever the input's nesting;
// yaml-cpp itself refuses documents nested deeper than its own guard (DeepRecursion).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/config_builder.hpp"
#include "config/value.hpp"
#include "core/unique_fd.hpp"

namespace picket::config {
namespace {

constexpr std::string_view kProfileKey = "profile";
constexpr size_t kMaxSuggestLength = 64;  // longer keys get no "did you mean" (edit distance is quadratic)

std::string_view kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a single value";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string a_type(ParamType t) {
  const auto name = param_type_name(t);
  const bool vowel = name.front() == 'a' || name.front() == 'i';
  return fmt::format("{} {}", vowel ? "an" : "a", name);
}

// yaml-cpp gives quoted scalars the non-specific tag "!" and plain ones "?".
bool is_quoted(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str"; }

bool is_plain_name(std::string_view k) {
  if (k.empty() || k.size() > kMaxSuggestLength) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

class Loader {
 public:
  Loader(const Schema& schema, std::string name) : schema_(schema), name_(std::move(name)) {
    for (const auto& d : schema_.params()) {
      for (size_t dot = d.path.find('.'); dot != std::string::npos; dot = d.path.find('.', dot + 1)) {
        sections_.insert(d.path.substr(0, dot));
      }
    }
  }

  LoadResult run(std::string_view yaml) {
    if (yaml.size() > kMaxInputBytes) {
      error(YAML::Mark::null_mark(), "", fmt::format("larger than {} MiB; refusing to read it", kMaxInputBytes >> 20));
      return finish();
    }
    if (!check_characters(yaml)) return finish();
    YAML::Node root;
    try {
      // Not YAML::LoadAll: yaml-cpp 0.7 can loop forever there, adding null documents, when the
      // parser stops consuming input (e.g. on a lone ","). Load reads one document, and
      // count_documents looks at most two documents ahead.
      root = YAML::Load(std::string(yaml));
      count_documents(yaml);
    } catch (const YAML::Exception& e) {
      error(e.mark, "", fmt::format("malformed YAML: {}", e.msg));
      return finish();
    }
    if (root.IsMap()) {
      walk_section(root, "");
    } else if (root.IsDefined() && !root.IsNull()) {
      error(root.Mark(), "", fmt::format("expected a mapping of keys at the top level, got {}", kind_of(root)));
    }
    return finish();
  }

 private:
  // YAML text holds no control characters but tab and line breaks. Checking first also keeps
  // yaml-cpp away from NUL bytes (which it reads as the end of input) and from guessing UTF-16.
  bool check_characters(std::string_view yaml) {
    int line = 1, column = 1;
    for (char ch : yaml) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        YAML::Mark at;
        at.line = line - 1;
        at.column = column - 1;
        error(at, "",
              fmt::format("control character 0x{:02x} in the file (it must be UTF-8 text)", c));
        return false;
      }
      if (c == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return true;
  }

  // Parses at most two documents without building them; a second one is an error.
  void count_documents(std::string_view yaml) {
    class Counter : public YAML::EventHandler {
     public:
      void OnDocumentStart(const YAML::Mark& m) override {
        (count_++ == 0 ? first_ : second_) = m;
      }
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
      void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
      void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
      void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
      void OnMapEnd() override {}
      int count_ = 0;
      YAML::Mark first_, second_;
    };
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    Counter counter;
    for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
    }
    if (counter.count_ < 2) return;
    // A second "document" where the first began means the parser could not move past some text.
    if (counter.second_.pos == counter.first_.pos) {
      error(counter.second_, "", "malformed YAML: unexpected text");
    } else {
      error(counter.second_, "", "more than one YAML document; the file must hold one");
    }
  }

  void walk_section(const YAML::Node& map, const std::string& prefix) {
    std::map<std::string, int, std::less<>> seen;  // key → line it was first given on
    for (auto it = map.begin(); it != map.end() && !truncated_; ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        error(key.Mark(), prefix, fmt::format("a key must be a plain name, got {}", kind_of(key)));
        continue;
      }
      const std::string& k = key.Scalar();
      const std::string path = join(prefix, is_plain_name(k) ? k : detail::quote_for_message(k));
      if (auto [first, inserted] = seen.emplace(k, key.Mark().line + 1); !inserted) {
        error(key.Mark(), path, fmt::format("key given twice (first on line {})", first->second));
        continue;
      }
      if (prefix.empty() && k == kProfileKey) {
        read_profile(key, value);
      } else if (const ParamDecl* d = is_plain_name(k) ? schema_.find(path) : nullptr) {
        read_param(*d, key, value);
      } else if (is_plain_name(k) && sections_.contains(path)) {
        // A section whose keys are all commented out is empty, not an error.
        if (value.IsMap()) {
          walk_section(value, path);
        } else if (!value.IsNull()) {
          error(mark_of(key, value), path,
                fmt::format("expected a section (a mapping of keys), got {}", kind_of(value)));
        }
      } else {
        error(key.Mark(), path, fmt::format("unknown key{}", hint(prefix, k)));
      }
    }
  }

  void read_profile(const YAML::Node& key, const YAML::Node& value) {
    if (!value.IsScalar()) {
      error(mark_of(key, value), std::string(kProfileKey),
            fmt::format("expected a profile name (normal, aggressive, paranoid), got {}", kind_of(value)));
      return;
    }
    if (auto p = parse_profile(value.Scalar())) {
      profile_ = *p;
      return;
    }
    error(value.Mark(), std::string(kProfileKey),
          fmt::format("unknown profile {} (normal, aggressive, paranoid)", detail::quote_for_message(value.Scalar())));
  }

  void read_param(const ParamDecl& d, const YAML::Node& key, const YAML::Node& value) {
    if (value.IsNull()) {
      error(key.Mark(), d.path, detail::is_list(d.type) ? "has no value (write [] for an empty list)" : "has no value");
      return;
    }
    if (detail::is_list(d.type)) {
      read_list(d, value);
      return;
    }
    if (!value.IsScalar()) {
      error(value.Mark(), d.path, fmt::format("expected {}, got {}", a_type(d.type), kind_of(value)));
      return;
    }
    auto v = detail::parse_scalar(d.type, value.Scalar(), is_quoted(value));
    if (!v) {
      error(value.Mark(), d.path, v.error().message);
      return;
    }
    if (auto ok = detail::check_constraints(d, *v); !ok) {
      error(value.Mark(), d.path, ok.error().message);
      return;
    }
    values_.emplace(d.path, std::move(v.value()));
  }

  void read_list(const ParamDecl& d, const YAML::Node& value) {
    if (!value.IsSequence()) {
      error(value.Mark(), d.path,
            fmt::format("expected {} ([a, b] or one '- entry' per line), got {}", a_type(d.type),
                        kind_of(value)));
      return;
    }
    // Check the count before the entries, so a huge list costs one error, not one per entry.
    const size_t n = value.size();
    if (d.max && static_cast<double>(n) > *d.max) {
      error(value.Mark(), d.path, fmt::format("must have at most {} entries (got {})", *d.max, n));
      return;
    }
    std::vector<std::string> entries;
    entries.reserve(n);
    bool bad = false;
    for (size_t i = 0; i < n && !truncated_; ++i) {
      const YAML::Node e = value[i];
      const std::string path = fmt::format("{}[{}]", d.path, i);
      if (!e.IsScalar()) {
        error(e.IsNull() ? value.Mark() : e.Mark(), path, fmt::format("a list entry must be a single value, got {}", kind_of(e)));
        bad = true;
        continue;
      }
      auto norm = detail::normalise_entry(d.type, e.Scalar());
      if (!norm) {
        error(e.Mark(), path, norm.error().message);
        bad = true;
        continue;
      }
      entries.push_back(std::move(norm.value()));
    }
    if (bad) return;
    Value v{std::move(entries)};
    if (auto ok = detail::check_constraints(d, v); !ok) {
      error(value.Mark(), d.path, ok.error().message);
      return;
    }
    values_.emplace(d.path, std::move(v));
  }

  // " (did you mean 'limit'?)" for a near miss among the keys allowed at this level.
  std::string hint(const std::string& prefix, const std::string& key) const {
    if (key.find('.') != std::string::npos && key.size() <= 4 * kMaxSuggestLength) {
      const std::string dotted = join(prefix, key);
      if (schema_.find(dotted) != nullptr || sections_.contains(dotted)) {
        return " (dotted keys are not read: nest each part as its own mapping)";
      }
    }
    if (key.size() > kMaxSuggestLength) return "";
    std::set<std::string, std::less<>> siblings;
    if (prefix.empty()) siblings.insert(std::string(kProfileKey));
    for (const auto& d : schema_.params()) {
      std::string_view rest = d.path;
      if (!prefix.empty()) {
        if (!rest.starts_with(prefix) || rest.size() <= prefix.size() || rest[prefix.size()] != '.') continue;
        rest.remove_prefix(prefix.size() + 1);
      }
      siblings.emplace(rest.substr(0, rest.find('.')));
    }
    std::string best;
    size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
    for (const auto& s : siblings) {
      const size_t dist = edit_distance(key, s);
      if (dist < best_distance) {
        best_distance = dist;
        best = s;
      }
    }
    return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
  }

  static std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : fmt::format("{}.{}", prefix, key);
  }

  // A null value carries no useful position of its own: point at its key then.
  static YAML::Mark mark_of(const YAML::Node& key, const YAML::Node& value) {
    return value.IsNull() ? key.Mark() : value.Mark();
  }

  void error(const YAML::Mark& m, std::string path, std::string message) {
    if (truncated_) return;
    if (errors_.size() + 1 >= kMaxErrors) {
      errors_.push_back({name_, 0, 0, "", fmt::format("too many errors; stopped after {}", errors_.size())});
      truncated_ = true;
      return;
    }
    const bool known = m.line >= 0 && m.column >= 0;
    errors_.push_back(
        {name_, known ? m.line + 1 : 0, known ? m.column + 1 : 0, std::move(path), std::move(message)});
  }

  LoadResult finish() {
    // Checks run in walk order, which is nearly file order; make it exact. File-level errors
    // (line 0) come first, and the "too many errors" note stays last.
    const auto end = truncated_ ? errors_.end() - 1 : errors_.end();
    std::stable_sort(errors_.begin(), end, [](const ConfigError& a, const ConfigError& b) {
      return std::pair{a.line, a.column} < std::pair{b.line, b.column};
    });
    LoadResult r;
    if (errors_.empty()) {
      r.config = detail::ConfigBuilder::build(schema_, profile_.value_or(Profile::normal), name_, std::move(values_));
    }
    r.errors = std::move(errors_);
    return r;
  }

  const Schema& schema_;
  std::string name_;
  std::set<std::string, std::less<>> sections_;
  std::map<std::string, Value, std::less<>> values_;
  std::optional<Profile> profile_;
  std::vector<ConfigError> errors_;
  bool truncated_ = false;
};

ConfigError file_error(const std::string& path, std::string message) {
  return ConfigError{path, 0, 0, "", std::move(message)};
}

}  // namespace

LoadResult load_string(const Schema& schema, std::string_view yaml, const std::string& name) {
  // yaml-cpp throws on more than malformed text (its node API, allocation): nothing may escape.
  try {
    return Loader(schema, name).run(yaml);
  } catch (const std::exception& e) {
    return LoadResult{std::nullopt, {file_error(name, fmt::format("cannot read the configuration: {}", e.what()))}};
  } catch (...) {
    return LoadResult{std::nullopt, {file_error(name, "cannot read the configuration: unknown error")}};
  }
}

LoadResult load_file(const Schema& schema, const std::string& path) {
  try {
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return LoadResult{std::nullopt, {file_error(path, fmt::format("cannot open: {}", std::generic_category().message(errno)))}};
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return LoadResult{std::nullopt, {file_error(path, "cannot read: it is a directory")}};
    }
    // Read one byte past the limit (not trusting st_size: a pipe has none) so an oversized file is
    // refused by load_string without reading all of it.
    std::string text;
    char buf[16384];
    while (text.size() <= kMaxInputBytes) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return LoadResult{std::nullopt, {file_error(path, fmt::format("cannot read: {}", std::generic_category().message(errno)))}};
      }
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    return load_string(schema, text, path);
  } catch (const std::exception& e) {
    return LoadResult{std::nullopt, {file_error(path, fmt::format("cannot read: {}", e.what()))}};
  }
}

}  // namespace picket::config
