#pragma once
// Shared by the KITH adapter's tests: the repository's schema set (compiled once per test
// binary), a valid MsgHead + Dialogmelding 1.1 message to derive broken ones from, and the corpus.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "adapters/kith/schema_set.h"

namespace helsebro::kith::testing {

inline const std::filesystem::path kSchemaDir =
    std::filesystem::path(HELSEBRO_SOURCE_DIR) / "schemas" / "kith";
inline const std::filesystem::path kCorpusDir =
    (std::filesystem::path(HELSEBRO_SOURCE_DIR) / ".." / "shared" / "corpus" / "kith")
        .lexically_normal();

/// A fresh directory under the system's temporary directory, removed with its content.
class TempDir {
 public:
  explicit TempDir(std::string_view name)
      : path_(std::filesystem::temp_directory_path() /
              (std::string(name) + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The schemas under schemas/kith, loaded once; fails the calling test when they do not load.
inline std::shared_ptr<const SchemaSet> schemas() {
  static const auto loaded = SchemaSet::load(kSchemaDir);
  EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message());
  return loaded ? *loaded : nullptr;
}

// Fictional people and parties. 15038512363 and 55038512357 have valid control digits.
inline constexpr std::string_view kFnr = "15038512363";
inline constexpr std::string_view kDnr = "55038512357";
inline constexpr std::string_view kMsgId = "6f1c2a3e-8d4b-4c1f-9a2e-0b5d7c8e9f10";
inline constexpr std::string_view kSenderHer = "1234567";
inline constexpr std::string_view kReceiverHer = "111222";
inline constexpr std::string_view kDepartmentHer = "333444";

/// A schema-valid MsgHead 1.2 carrying a Dialogmelding 1.1 with two notes.
inline constexpr std::string_view kDialogMessage = R"(<?xml version="1.0" encoding="UTF-8"?>
<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24">
  <MsgInfo>
    <Type V="DIALOG_NOTAT" DN="Notat"/>
    <MIGversion>v1.2 2006-05-24</MIGversion>
    <GenDate>2024-03-01T10:15:00</GenDate>
    <MsgId>6f1c2a3e-8d4b-4c1f-9a2e-0b5d7c8e9f10</MsgId>
    <Sender>
      <Organisation>
        <OrganisationName>Fjordtun legesenter</OrganisationName>
        <Ident>
          <Id>1234567</Id>
          <TypeId V="HER" S="2.16.578.1.12.4.1.1.9051" DN="HER-id"/>
        </Ident>
        <HealthcareProfessional>
          <FamilyName>Lege</FamilyName>
          <GivenName>Kari</GivenName>
          <Ident>
            <Id>7654321</Id>
            <TypeId V="HPR" S="2.16.578.1.12.4.1.1.8116" DN="HPR-nummer"/>
          </Ident>
        </HealthcareProfessional>
      </Organisation>
    </Sender>
    <Receiver>
      <Organisation>
        <OrganisationName>Elvedal kommune</OrganisationName>
        <Ident>
          <Id>111222</Id>
          <TypeId V="HER" S="2.16.578.1.12.4.1.1.9051" DN="HER-id"/>
        </Ident>
        <Ident>
          <Id>987654321</Id>
          <TypeId V="ENH" S="2.16.578.1.12.4.1.1.9051" DN="Organisasjonsnummeret i Enhetsregisteret"/>
        </Ident>
        <Organisation>
          <OrganisationName>Hjemmetjenesten</OrganisationName>
          <Ident>
            <Id>333444</Id>
            <TypeId V="HER" S="2.16.578.1.12.4.1.1.9051" DN="HER-id"/>
          </Ident>
        </Organisation>
      </Organisation>
    </Receiver>
    <Patient>
      <FamilyName>Nordmann</FamilyName>
      <GivenName>Ola</GivenName>
      <Ident>
        <Id>15038512363</Id>
        <TypeId V="FNR" S="2.16.578.1.12.4.1.1.8116" DN="Fødselsnummer"/>
      </Ident>
    </Patient>
  </MsgInfo>
  <Document>
    <RefDoc>
      <MsgType V="XML" DN="XML-instans"/>
      <Content>
        <Dialogmelding xmlns="http://www.kith.no/xmlstds/dialog/2013-01-23">
          <Notat>
            <TemaKodet V="1" S="2.16.578.1.12.4.1.1.7322" DN="Helsefaglig dialog"/>
            <TekstNotatInnhold>Første notat</TekstNotatInnhold>
          </Notat>
          <Notat>
            <TemaKodet V="2" S="2.16.578.1.12.4.1.1.7322" DN="Annet"/>
            <TekstNotatInnhold>Andre notat</TekstNotatInnhold>
          </Notat>
        </Dialogmelding>
      </Content>
    </RefDoc>
  </Document>
</MsgHead>
)";

/// kDialogMessage with each `from` replaced by its `to` (each must occur).
inline std::string dialog_message(
    std::initializer_list<std::pair<std::string_view, std::string_view>> edits = {}) {
  std::string text(kDialogMessage);
  for (const auto& [from, to] : edits) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "not in the test message: " << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace helsebro::kith::testing
