#include "adapters/kith/canonical_names.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

namespace helsebro::kith {
namespace {

const PrefixMap kPrefixes{{"mh", "urn:msghead"},
                          {"dm", "urn:dialog-1.0"},
                          {"dm", "urn:dialog-1.1"},
                          {"xsi", "http://www.w3.org/2001/XMLSchema-instance"}};

pugi::xml_document canonical(const char* text) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(text));
  canonicalize_names(doc, kPrefixes);
  return doc;
}

TEST(KithCanonicalNames, RenamesDefaultAndPrefixedNamespacesToTheFixedPrefixes) {
  const auto doc = canonical(
      R"(<MsgHead xmlns="urn:msghead"><x:Document xmlns:x="urn:msghead"><Dialogmelding xmlns="urn:dialog-1.1">
         <Notat/></Dialogmelding></x:Document></MsgHead>)");
  const pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.name(), "mh:MsgHead");
  EXPECT_STREQ(root.first_child().name(), "mh:Document");
  EXPECT_STREQ(root.first_child().first_child().name(), "dm:Dialogmelding");
  EXPECT_STREQ(root.first_child().first_child().first_child().name(), "dm:Notat");
}

TEST(KithCanonicalNames, DeclaresEachPrefixUsedOnceOnTheRoot) {
  const auto doc = canonical(
      R"(<MsgHead xmlns="urn:msghead"><Dialogmelding xmlns="urn:dialog-1.0"/></MsgHead>)");
  const pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.attribute("xmlns:mh").value(), "urn:msghead");
  EXPECT_STREQ(root.attribute("xmlns:dm").value(), "urn:dialog-1.0");
  EXPECT_FALSE(root.attribute("xmlns"));
  EXPECT_FALSE(root.first_child().attribute("xmlns"));
}

TEST(KithCanonicalNames, GivesUnknownNamespacesGeneratedPrefixes) {
  const auto doc = canonical(
      R"(<a:Envelope xmlns:a="urn:soap"><b:Body xmlns:b="urn:body"><a:Header/></b:Body></a:Envelope>)");
  const pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.name(), "ns1:Envelope");
  EXPECT_STREQ(root.first_child().name(), "ns2:Body");
  EXPECT_STREQ(root.first_child().first_child().name(), "ns1:Header");
  EXPECT_STREQ(root.attribute("xmlns:ns2").value(), "urn:body");
}

TEST(KithCanonicalNames, KeepsElementsWithoutNamespaceAndUnqualifiedAttributes) {
  const auto doc = canonical(
      R"(<MsgHead xmlns="urn:msghead"><Inner xmlns=""><TypeId V="HER" DN="HER-id"/></Inner></MsgHead>)");
  const pugi::xml_node inner = doc.document_element().first_child();
  EXPECT_STREQ(inner.name(), "Inner");
  EXPECT_STREQ(inner.first_child().name(), "TypeId");
  EXPECT_STREQ(inner.first_child().attribute("V").value(), "HER");
}

TEST(KithCanonicalNames, RenamesQualifiedAttributes) {
  const auto doc = canonical(
      R"(<MsgHead xmlns="urn:msghead" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"
         i:schemaLocation="urn:msghead MsgHead.xsd" xml:lang="no"><Id i:nil="true"/></MsgHead>)");
  const pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.attribute("xsi:schemaLocation").value(), "urn:msghead MsgHead.xsd");
  EXPECT_STREQ(root.attribute("xml:lang").value(), "no");
  EXPECT_STREQ(root.first_child().attribute("xsi:nil").value(), "true");
  EXPECT_FALSE(root.attribute("xmlns:i"));
}

TEST(KithCanonicalNames, ResolvesPrefixesByTheirInnermostDeclaration) {
  const auto doc = canonical(
      R"(<p:MsgHead xmlns:p="urn:msghead"><p:Content><p:Notat xmlns:p="urn:dialog-1.0"/></p:Content>
         <p:After/></p:MsgHead>)");
  const pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.first_child().first_child().name(), "dm:Notat");
  EXPECT_STREQ(root.last_child().name(), "mh:After");
}

}  // namespace
}  // namespace helsebro::kith
