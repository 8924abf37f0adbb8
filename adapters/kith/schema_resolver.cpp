#include "adapters/kith/schema_resolver.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include <atomic>

namespace helsebro::kith {
namespace {

thread_local const SchemaResolver* active_resolver = nullptr;
std::atomic<std::uint64_t> refused_outside_scope{0};

// The last path segment of a URL or path, without query or fragment.
std::string_view last_segment(std::string_view reference) {
  const std::size_t end = reference.find_first_of("?#");
  if (end != std::string_view::npos) reference = reference.substr(0, end);
  const std::size_t slash = reference.find_last_of("/\\");
  return slash == std::string_view::npos ? reference : reference.substr(slash + 1);
}

xmlParserInputPtr helsebro_loader(const char* url, const char* /*id*/, xmlParserCtxtPtr ctxt) {
  const SchemaResolver* resolver = active_resolver;
  if (resolver == nullptr || url == nullptr) {
    refused_outside_scope.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const auto file = resolver->resolve_and_record(url);
  if (!file) return nullptr;
  return xmlNewInputFromFile(ctxt, file->c_str());
}

}  // namespace

SchemaResolver::SchemaResolver(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  dir_ = std::filesystem::weakly_canonical(dir_, ec);
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xsd") {
      files_.insert(entry.path().filename().string());
    }
  }
}

std::optional<std::filesystem::path> SchemaResolver::resolve(std::string_view reference) const {
  std::string_view rest = reference;
  if (rest.substr(0, 7) == "file://") rest.remove_prefix(7);
  const bool has_scheme = rest.find("://") != std::string_view::npos;
  if (!has_scheme && !rest.empty() && rest.front() == '/') {
    std::error_code ec;
    const std::filesystem::path path = std::filesystem::weakly_canonical(std::string(rest), ec);
    if (!ec && path.parent_path() == dir_ && files_.count(path.filename().string()) != 0)
      return path;
  }
  const std::string name(last_segment(rest));
  if (files_.count(name) == 0) return std::nullopt;
  return dir_ / name;
}

std::optional<std::filesystem::path> SchemaResolver::resolve_and_record(
    std::string_view reference) const {
  auto file = resolve(reference);
  std::lock_guard lock(mutex_);
  loads_.push_back(Load{std::string(reference), file ? file->string() : std::string{}});
  return file;
}

std::vector<SchemaResolver::Load> SchemaResolver::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

ResolverScope::ResolverScope(const SchemaResolver& resolver) : previous_(active_resolver) {
  init_libxml();
  active_resolver = &resolver;
}

ResolverScope::~ResolverScope() {
  active_resolver = previous_;
}

void init_libxml() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSetExternalEntityLoader(helsebro_loader);
  });
}

std::uint64_t refused_loads() {
  return refused_outside_scope.load(std::memory_order_relaxed);
}

}  // namespace helsebro::kith
