#include "gateway/listen/tls_context.h"

#include <gtest/gtest.h>

#include <openssl/x509.h>

#include <memory>
#include <utility>
#include <vector>

namespace helsebro::listen {
namespace {

using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

// A certificate with only a subject: what certificate_subject() reads.
Certificate with_subject(const std::vector<std::pair<const char*, std::string>>& attributes, int type = MBSTRING_UTF8) {
  Certificate cert(X509_new(), &X509_free);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : attributes) {
    EXPECT_EQ(X509_NAME_add_entry_by_txt(name, field, type, reinterpret_cast<const unsigned char*>(value.data()),
                                         static_cast<int>(value.size()), -1, 0),
              1)
        << field;
  }
  return cert;
}

TEST(CertificateSubject, IsOpenSslsOneLineFormForAsciiNames) {
  auto cert = with_subject({{"C", "NO"}, {"O", "St. Olavs hospital"}, {"CN", "lab"}});
  EXPECT_EQ(certificate_subject(cert.get()), "/C=NO/O=St. Olavs hospital/CN=lab");
  char oneline[512];
  X509_NAME_oneline(X509_get_subject_name(cert.get()), oneline, sizeof oneline);
  EXPECT_EQ(certificate_subject(cert.get()), oneline);  // rules written before keep matching
}

// The README's own example: OpenSSL's one-line form writes "Fjellg\xC3\xA5rden", which no rule
// written in UTF-8 matches.
TEST(CertificateSubject, KeepsNorwegianLettersAsUtf8) {
  auto cert = with_subject({{"C", "NO"}, {"O", "Fjellgården legekontor"}, {"CN", "kommunikasjon"}});
  EXPECT_EQ(certificate_subject(cert.get()), "/C=NO/O=Fjellgården legekontor/CN=kommunikasjon");
  std::vector<config::SenderRuleConfig> rules(1);
  rules[0].certificate_subject = "/C=NO/O=Fjellgården legekontor/CN=kommunikasjon";
  EXPECT_TRUE(subject_allowed(rules, certificate_subject(cert.get())));
  // A name stored as a BMPString (UTF-16, as older certificates have it) reads as UTF-8 too.
  const std::string utf16be("\0\xC6\0r\0\xF8\0 \0s\0y\0k\0e\0h\0j\0e\0m", 24);  // "Ærø sykehjem"
  auto bmp = with_subject({{"O", utf16be}}, V_ASN1_BMPSTRING);
  EXPECT_EQ(certificate_subject(bmp.get()), "/O=Ærø sykehjem");
}

TEST(CertificateSubject, EscapesWhatCouldPassForAnotherAttribute) {
  auto cert = with_subject({{"O", "A/CN=admin"}, {"OU", "back\\slash"}, {"CN", "tab\there"}});
  EXPECT_EQ(certificate_subject(cert.get()), "/O=A\\/CN=admin/OU=back\\\\slash/CN=tab\\x09here");
}

TEST(CertificateSubject, IsNeverCutShort) {
  const std::string long_unit(60, 'u');
  std::vector<std::pair<const char*, std::string>> attributes;
  for (int i = 0; i < 12; ++i) attributes.emplace_back("OU", long_unit);
  auto cert = with_subject(attributes);
  EXPECT_EQ(certificate_subject(cert.get()).size(), 12 * (4 + 60));
}

TEST(CertificateSubject, NamesAnAttributeWithoutAShortNameByItsOid) {
  auto cert = with_subject({{"2.5.4.97", "NTRNO-974749025"}});  // organizationIdentifier: has a name in OpenSSL 3
  const std::string subject = certificate_subject(cert.get());
  EXPECT_TRUE(subject == "/organizationIdentifier=NTRNO-974749025" || subject == "/2.5.4.97=NTRNO-974749025")
      << subject;
  auto unknown = with_subject({{"1.3.6.1.4.1.99999.1", "x"}});
  EXPECT_EQ(certificate_subject(unknown.get()), "/1.3.6.1.4.1.99999.1=x");
}

}  // namespace
}  // namespace helsebro::listen
