// What each role may do, as the gateway's policy (app/domain/common/policy.py) says; the console
// only decides what to show with it — the gateway decides again on every request.
import type { Role } from "./gql/graphql";

const OA: Role = "ORGANISATION_ADMINISTRATOR";
const UA: Role = "USER_ADMINISTRATOR";
const RA: Role = "RIGHTS_ADMINISTRATOR";

export type Ability =
  | "viewUsers"
  | "manageUsers"
  | "viewBilling"
  | "updateSettings"
  | "viewCertificates"
  | "manageCertificates"
  | "viewGroups"
  | "manageGroups"
  | "manageGroupMembers"
  | "viewActivities"
  | "viewPowers"
  | "managePowers"
  | "updateBilling";

const WHO: Record<Ability, readonly Role[]> = {
  viewUsers: [OA, UA, RA],
  manageUsers: [UA],
  viewBilling: [OA, UA, RA],
  updateSettings: [OA],
  viewCertificates: [OA, UA],
  manageCertificates: [UA],
  viewGroups: [OA, UA, RA],
  manageGroups: [OA],
  manageGroupMembers: [UA, RA],
  viewActivities: [OA, UA],
  viewPowers: [OA, UA, RA],
  managePowers: [OA],
  updateBilling: [OA],
};

export function can(roles: readonly Role[], ability: Ability): boolean {
  return roles.some((r) => WHO[ability].includes(r));
}

export const ROLE_NAMES: Record<Role, string> = {
  ORGANISATION_ADMINISTRATOR: "Organisationsadministrator",
  USER_ADMINISTRATOR: "Brugeradministrator",
  RIGHTS_ADMINISTRATOR: "Rettighedsadministrator",
  USER: "Bruger",
};
