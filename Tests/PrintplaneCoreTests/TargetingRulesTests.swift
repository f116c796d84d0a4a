import Foundation
import PropertyBased
import Testing

@testable import PrintplaneCore

/// Random assignments and subjects drawn from small pools, so that matches are common.
private let users = ["alice", "bob", "Carol"]
private let computers = ["ws-1", "ws-2", "WS-3"]
private let ranges = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "2001:db8::/32", "2001:db8:1::/48"]
private let addresses = ["10.1.2.3", "10.9.9.9", "192.168.4.4", "172.16.0.1", "2001:db8:1::5", "2001:db8:ffff::1"]
private let printers = (0..<4).map { PrinterID("printer-\($0)") }
/// Group and OU DNs, written in varying case: the rules compare DNs case-insensitively.
private let groupDNs = ["CN=Printing,OU=Groups,DC=corp", "cn=sales,ou=groups,dc=corp", "CN=All Staff,OU=Groups,DC=corp", "CN=Team\\, A,OU=Groups,DC=corp"]
private let ouDNs = ["OU=London,DC=corp", "ou=sales,ou=london,dc=corp", "DC=corp", "OU=Paris,DC=corp", "OU=Computers,OU=Paris,DC=corp"]
private let userDNs = ["CN=alice,OU=Sales,OU=London,DC=corp", "CN=bob,OU=Paris,DC=corp", "CN=carol,OU=Elsewhere,DC=other"]
private let computerDNs = ["CN=WS-1,OU=Computers,OU=Paris,DC=corp", "CN=WS-2,OU=London,DC=corp"]

private func dn(_ text: String) -> DistinguishedName { try! DistinguishedName(text) }

private let targetGen = zip(Gen.int(in: 0...5), Gen.int(in: 0...5)).map { pair -> AssignmentTarget in
    let (kind, index) = pair
    switch kind {
    case 0: return .everyone
    case 1: return .user(users[index % users.count])
    case 2: return .computer(computers[index % computers.count])
    case 3: return .group(dn(groupDNs[index % groupDNs.count].uppercased()))
    case 4: return .organizationalUnit(dn(ouDNs[index % ouDNs.count].uppercased()))
    default: return .ipRange(IPRange(ranges[index])!)
    }
}

/// Facts for the account at `index` of `pool` (past the end: no account), in some groups.
private func account(_ pool: [String], _ index: Int, _ groups: [Int]) -> DirectoryAccountFacts? {
    guard index < pool.count else { return nil }
    return DirectoryAccountFacts(dn: dn(pool[index]), groups: Set(groups.map { dn(groupDNs[$0]) }))
}

private let groupIndexesGen = Gen.int(in: 0...(groupDNs.count - 1)).array(of: 0...3)

private let factsGen = zip(Gen.int(in: 0...4), Gen.int(in: 0...userDNs.count), groupIndexesGen, Gen.int(in: 0...computerDNs.count), groupIndexesGen).map { values -> DirectoryFacts? in
    let (choice, user, userGroups, computer, computerGroups) = values
    return choice == 0 ? nil : DirectoryFacts(user: account(userDNs, user, userGroups), computer: account(computerDNs, computer, computerGroups))
}

private let assignmentGen = zip(Gen.int(in: 100...999), Gen.int(in: 0...3), targetGen).map { values -> Assignment in
    let (id, printer, target) = values
    return Assignment(id: AssignmentID("a\(id)"), printerID: printers[printer], profileID: ProfileID("profile-\(id)"), target: target)
}

private let subjectGen = zip(Gen.int(in: 0...2), Gen.int(in: 0...2), Gen.int(in: 0...5).array(of: 0...3), factsGen).map { values -> TargetingSubject in
    let (user, computer, addressIndexes, facts) = values
    return TargetingSubject(
        agentID: AgentID("agent-\(computer)"), computerName: computers[computer].uppercased(),
        userName: user == 2 ? nil : users[user], addresses: addressIndexes.map { IPAddress(addresses[$0])! }, directory: facts)
}

@Suite("Targeting rules")
struct TargetingRulesTests {
    @Test("the most specific matching assignment wins for each printer, whatever the input order")
    func mostSpecificWins() async {
        await propertyCheck(count: 300, input: assignmentGen.array(of: 0...12), subjectGen) { assignments, subject in
            let result = TargetingRules.resolve(assignments, for: subject)
            // One winner per printer, and only printers with a matching assignment.
            #expect(Set(result.map(\.printerID)).count == result.count)
            let matching = assignments.filter { TargetingRules.matches($0.target, subject) }
            #expect(Set(result.map(\.printerID)) == Set(matching.map(\.printerID)))
            for winner in result {
                #expect(TargetingRules.matches(winner.target, subject))
                for other in matching where other.printerID == winner.printerID && other != winner {
                    #expect(other.target.kind.specificity <= winner.target.kind.specificity)
                    #expect(!TargetingRules.isMoreSpecific(other, than: winner))
                }
            }
            #expect(TargetingRules.resolve(assignments.reversed(), for: subject) == result)
            #expect(TargetingRules.resolve(assignments.shuffled(), for: subject) == result)
        }
    }

    @Test("adding an assignment that does not match changes nothing")
    func nonMatchingIsInert() async {
        await propertyCheck(count: 200, input: assignmentGen.array(of: 0...10), subjectGen) { assignments, subject in
            let stranger = Assignment(id: "zzz", printerID: printers[0], profileID: nil, target: .user("nobody-\(subject.computerName)"))
            #expect(TargetingRules.resolve(assignments + [stranger], for: subject) == TargetingRules.resolve(assignments, for: subject))
        }
    }

    @Test("order of kinds: user > computer > group > OU > IP range > everyone")
    func specificityOrder() {
        let order: [AssignmentTarget.Kind] = [.user, .computer, .group, .organizationalUnit, .ipRange, .everyone]
        #expect(order.map(\.specificity) == order.map(\.specificity).sorted(by: >))
        #expect(Set(order) == Set(AssignmentTarget.Kind.allCases))
    }

    @Test("between IP ranges the longer prefix wins")
    func longerPrefixWins() {
        let subject = TargetingSubject(agentID: "a", computerName: "x", userName: nil, addresses: [IPAddress("10.1.2.3")!])
        let wide = Assignment(id: "a1", printerID: "p", profileID: "wide", target: .ipRange(IPRange("10.0.0.0/8")!))
        let narrow = Assignment(id: "a2", printerID: "p", profileID: "narrow", target: .ipRange(IPRange("10.1.2.0/24")!))
        #expect(TargetingRules.resolve([wide, narrow], for: subject) == [narrow])
        #expect(TargetingRules.resolve([narrow, wide], for: subject) == [narrow])
    }

    @Test("computers match by case-insensitive name or by agent ID; users by case-insensitive name")
    func matching() {
        let subject = TargetingSubject(agentID: "agent-7", computerName: "WS-1", userName: "Alice", addresses: [])
        #expect(TargetingRules.matches(.computer("ws-1"), subject))
        #expect(TargetingRules.matches(.computer("agent-7"), subject))
        #expect(!TargetingRules.matches(.computer("ws-2"), subject))
        #expect(TargetingRules.matches(.user("alice"), subject))
        #expect(!TargetingRules.matches(.user("bob"), subject))
        #expect(!TargetingRules.matches(.ipRange(IPRange("0.0.0.0/0")!), subject))
        #expect(TargetingRules.matches(.everyone, subject))
    }

    @Test("a group target matches exactly when the user or the computer is in the group, DNs compared case-insensitively")
    func groupTargets() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...(groupDNs.count - 1)), subjectGen) { index, subject in
            let target = AssignmentTarget.group(dn(groupDNs[index].lowercased()))
            let expected = subject.directory.map { facts in
                [facts.user, facts.computer].compactMap { $0 }.contains { account in
                    account.groups.contains { $0.normalized == groupDNs[index].lowercased() }
                }
            } ?? false
            #expect(TargetingRules.matches(target, subject) == expected)
        }
    }

    @Test("an OU target matches exactly when the user's or the computer's entry lies beneath it")
    func ouTargets() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...(ouDNs.count - 1)), subjectGen) { index, subject in
            let ou = dn(ouDNs[index])
            let target = AssignmentTarget.organizationalUnit(dn(ouDNs[index].uppercased()))
            let expected = subject.directory.map { facts in
                [facts.user, facts.computer].compactMap { $0 }.contains { $0.dn.isDescendant(of: ou) && $0.dn != ou }
            } ?? false
            #expect(TargetingRules.matches(target, subject) == expected)
        }
    }

    @Test("a user assignment beats a group one, and a group one beats an OU one, for the same printer")
    func directoryPrecedence() throws {
        let alice = DirectoryAccountFacts(dn: dn(userDNs[0]), groups: [dn(groupDNs[0])])
        let subject = TargetingSubject(agentID: "a", computerName: "ws-1", userName: "alice", addresses: [IPAddress("10.1.2.3")!], directory: DirectoryFacts(user: alice, computer: nil))
        let byUser = Assignment(id: "a9", printerID: "p", profileID: "user", target: .user("ALICE"))
        let byGroup = Assignment(id: "a1", printerID: "p", profileID: "group", target: .group(dn(groupDNs[0])))
        let byOU = Assignment(id: "a0", printerID: "p", profileID: "ou", target: .organizationalUnit(dn("OU=London,DC=corp")))
        let byRange = Assignment(id: "a2", printerID: "p", profileID: "range", target: .ipRange(IPRange("10.1.2.0/24")!))
        #expect(TargetingRules.resolve([byGroup, byUser, byOU, byRange], for: subject) == [byUser])
        #expect(TargetingRules.resolve([byOU, byGroup, byRange], for: subject) == [byGroup])
        #expect(TargetingRules.resolve([byRange, byOU], for: subject) == [byOU])
        var withoutFacts = subject
        withoutFacts.directory = nil
        #expect(TargetingRules.resolve([byOU, byGroup, byRange], for: withoutFacts) == [byRange])
    }

    @Test("group and OU targets are made from a DN, tidied, and a bad DN is refused with a clear message")
    func directoryTargetsFromWireParts() throws {
        guard case .success(let group) = AssignmentTarget.make(kind: .group, value: " CN = Printing , OU=Groups,DC=corp ") else {
            Issue.record("a valid DN was refused")
            return
        }
        #expect(group == .group(dn("cn=printing,ou=groups,dc=corp")))
        #expect(group.value == "CN=Printing,OU=Groups,DC=corp")
        #expect(group.description == "group:CN=Printing,OU=Groups,DC=corp")
        for (kind, value, fragment) in [
            (AssignmentTarget.Kind.group, "Printing", "no '='"),
            (.group, "", "distinguished name"),
            (.organizationalUnit, "OU=London,DC=corp\\", "unfinished escape"),
            (.organizationalUnit, "O U=London", "attribute type"),
            (.group, String(repeating: "x", count: 3000), "2048"),
        ] {
            guard case .failure(let error) = AssignmentTarget.make(kind: kind, value: value) else {
                Issue.record("\(value.prefix(40)) was accepted")
                continue
            }
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.contains("CN=") || error.message.contains("OU="), "the message shows an example: \(error.message)")
        }
        let data = try WireCoding.makeEncoder().encode(AssignmentTarget.organizationalUnit(dn("OU=London,DC=corp")))
        #expect(String(decoding: data, as: UTF8.self) == #"{"kind":"ou","value":"OU=London,DC=corp"}"#)
        #expect(try JSONDecoder().decode(AssignmentTarget.self, from: data) == .organizationalUnit(dn("ou=london,dc=corp")))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AssignmentTarget.self, from: Data(#"{"kind":"group","value":"*)(uid=*"}"#.utf8)) }
        #expect(AssignmentTarget.Kind.allCases.filter(\.needsDirectory) == [.group, .organizationalUnit])
    }
}
