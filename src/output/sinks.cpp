#include "output/sinks.hpp"

#include <algorithm>
#include <exception>

namespace picket::output {
namespace {

// Rendering uses the replace error handler and so should not throw; this guard keeps emit()
// non-throwing even if it does (or allocation fails), at the price of one counted lost event.
template <typename Render>
void emit_line(LineFile& file, const Event& event, Render render) noexcept {
  std::string line;
  try {
    line = render(event);
  } catch (const std::exception& e) {
    file.count_error(e.what());
    return;
  }
  file.write_line(line);
}

}  // namespace

JsonLinesSink::JsonLinesSink(std::string path, bool flush_each) : file_(std::move(path), flush_each) {}

core::Result<std::unique_ptr<JsonLinesSink>> JsonLinesSink::open(std::string path, bool flush_each) {
  auto sink = std::make_unique<JsonLinesSink>(std::move(path), flush_each);
  if (auto r = sink->file_.open_result(); !r) return r.error();
  return sink;
}

void JsonLinesSink::emit(const Event& event) { emit_line(file_, event, to_json_line); }

TextLogSink::TextLogSink(std::string path, bool flush_each) : file_(std::move(path), flush_each) {}

core::Result<std::unique_ptr<TextLogSink>> TextLogSink::open(std::string path, bool flush_each) {
  auto sink = std::make_unique<TextLogSink>(std::move(path), flush_each);
  if (auto r = sink->file_.open_result(); !r) return r.error();
  return sink;
}

void TextLogSink::emit(const Event& event) { emit_line(file_, event, to_text_line); }

void FanoutSink::add(std::unique_ptr<EventSink> sink) {
  if (!sink) return;
  sinks_.push_back(sink.get());
  owned_.push_back(std::move(sink));
}

void FanoutSink::add(EventSink& sink) { sinks_.push_back(&sink); }

std::unique_ptr<EventSink> FanoutSink::remove(const EventSink* sink) {
  std::erase(sinks_, sink);
  auto it = std::find_if(owned_.begin(), owned_.end(), [&](const auto& p) { return p.get() == sink; });
  if (it == owned_.end()) return nullptr;
  std::unique_ptr<EventSink> out = std::move(*it);
  owned_.erase(it);
  return out;
}

void FanoutSink::emit(const Event& event) {
  for (EventSink* s : sinks_) s->emit(event);
}

void FanoutSink::flush() {
  for (EventSink* s : sinks_) s->flush();
}

void FanoutSink::reopen() {
  for (EventSink* s : sinks_) s->reopen();
}

}  // namespace picket::output
