import PropertyBased
import Testing

@testable import PrintplaneCore

/// Random assignments and subjects drawn from small pools, so that matches are common.
private let users = ["alice", "bob", "Carol"]
private let computers = ["ws-1", "ws-2", "WS-3"]
private let ranges = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "2001:db8::/32", "2001:db8:1::/48"]
private let addresses = ["10.1.2.3", "10.9.9.9", "192.168.4.4", "172.16.0.1", "2001:db8:1::5", "2001:db8:ffff::1"]
private let printers = (0..<4).map { PrinterID("printer-\($0)") }

private let targetGen = zip(Gen.int(in: 0...3), Gen.int(in: 0...5)).map { pair -> AssignmentTarget in
    let (kind, index) = pair
    switch kind {
    case 0: return .everyone
    case 1: return .user(users[index % users.count])
    case 2: return .computer(computers[index % computers.count])
    default: return .ipRange(IPRange(ranges[index])!)
    }
}

private let assignmentGen = zip(Gen.int(in: 100...999), Gen.int(in: 0...3), targetGen).map { values -> Assignment in
    let (id, printer, target) = values
    return Assignment(id: AssignmentID("a\(id)"), printerID: printers[printer], profileID: ProfileID("profile-\(id)"), target: target)
}

private let subjectGen = zip(Gen.int(in: 0...2), Gen.int(in: 0...2), Gen.int(in: 0...5).array(of: 0...3)).map { values -> TargetingSubject in
    let (user, computer, addressIndexes) = values
    return TargetingSubject(
        agentID: AgentID("agent-\(computer)"), computerName: computers[computer].uppercased(),
        userName: user == 2 ? nil : users[user], addresses: addressIndexes.map { IPAddress(addresses[$0])! })
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
}

