/**
 * Checks a CloudFormation template against the CloudFormation resource specification, offline: every
 * resource type exists, every property name (at every depth) is one the type has, required properties are
 * there, and every Fn::GetAtt names an attribute its resource has. The specification is the AWS CDK's
 * (@aws-cdk/aws-service-spec, the database CDK generates its L1 classes from, built from the CloudFormation
 * registry schemas; db.json.gz in the package). Values are not checked, only names: a misspelt property
 * fails here instead of halfway through a deploy.
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';

type SpecDatabase = ReturnType<typeof loadAwsServiceSpecSync>;
/** The property types of the specification, as far as a name check needs them. */
type PropertyType =
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: PropertyType }
  | { type: 'union'; types: PropertyType[] }
  | { type: string };
type Properties = Record<string, { type: PropertyType; required?: boolean }>;

/** The keys a resource may have besides Type and Properties. */
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Condition',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
]);
/** A custom resource's own properties (the rest are the function's input). */
const CUSTOM_RESOURCE = 'AWS::CloudFormation::CustomResource';

let database: SpecDatabase | undefined;
function spec(): SpecDatabase {
  database ??= loadAwsServiceSpecSync();
  return database;
}

function resourceSpec(type: string) {
  return spec().lookup('resource', 'cloudFormationType', 'equals', type)[0];
}

/** `{ Ref }`, `{ "Fn::…" }`: a value computed by CloudFormation, whose shape the spec cannot describe. */
function isIntrinsic(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::') || keys[0] === 'Condition');
}

/** The problems of one value against its property type (names only; primitive values are not checked). */
function checkValue(value: unknown, type: PropertyType, path: string): string[] {
  if (isIntrinsic(value) || value === null || value === undefined) return [];
  switch (type.type) {
    case 'ref': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`];
      const definition = spec().get('typeDefinition', (type as { reference: { $ref: string } }).reference.$ref);
      return checkProperties(value as Record<string, unknown>, definition.properties as Properties, path);
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected a list`];
      return value.flatMap((item, index) => checkValue(item, (type as { element: PropertyType }).element, `${path}[${index}]`));
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected a map`];
      return Object.entries(value).flatMap(([key, item]) =>
        checkValue(item, (type as { element: PropertyType }).element, `${path}.${key}`),
      );
    case 'union': {
      // Fine if any of the alternatives fits; otherwise report the closest one.
      const attempts = (type as { types: PropertyType[] }).types.map((alternative) => checkValue(value, alternative, path));
      return attempts.some((problems) => problems.length === 0) ? [] : attempts.sort((a, b) => a.length - b.length)[0]!;
    }
    case 'tag':
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected a tag`];
      return Object.keys(value)
        .filter((key) => key !== 'Key' && key !== 'Value')
        .map((key) => `${path}.${key}: no such property (known: Key, Value)`);
    default:
      return [];
  }
}

function checkProperties(values: Record<string, unknown>, properties: Properties, path: string): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const property = properties[name];
    if (!property) problems.push(`${path}.${name}: no such property (known: ${Object.keys(properties).sort().join(', ')})`);
    else problems.push(...checkValue(value, property.type, `${path}.${name}`));
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && !(name in values)) problems.push(`${path}.${name}: required, missing`);
  }
  return problems;
}

/** Every `{ "Fn::GetAtt": [resource, attribute] }` under a value. */
function getAtts(value: unknown): Array<[string, string]> {
  if (Array.isArray(value)) return value.flatMap(getAtts);
  if (typeof value !== 'object' || value === null) return [];
  const found: Array<[string, string]> = [];
  for (const [key, item] of Object.entries(value)) {
    if (key === 'Fn::GetAtt' && Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'string')
      found.push([item[0], item[1]]);
    else found.push(...getAtts(item));
  }
  return found;
}

export interface TemplateLike {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] }>;
  Outputs?: Record<string, unknown>;
}

/** The template's problems against the specification: empty when every type, property and attribute exists. */
export function validateAgainstSpec(template: TemplateLike): string[] {
  const problems: string[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) problems.push(`${id}.${key}: not a resource attribute`);
    const custom = resource.Type.startsWith('Custom::') || resource.Type === CUSTOM_RESOURCE;
    const found = resourceSpec(custom ? CUSTOM_RESOURCE : resource.Type);
    if (!found) {
      problems.push(`${id}: unknown resource type ${resource.Type}`);
      continue;
    }
    const properties = resource.Properties ?? {};
    if (custom) {
      // A custom resource takes any property besides its own two; ServiceToken it needs.
      const own = Object.fromEntries(Object.entries(properties).filter(([name]) => name in found.properties));
      problems.push(...checkProperties(own, found.properties as Properties, `${id}.Properties`));
    } else {
      problems.push(...checkProperties(properties, found.properties as Properties, `${id}.Properties`));
    }
  }
  for (const [id, attribute] of getAtts([template.Resources, template.Outputs ?? {}])) {
    const target = template.Resources[id];
    if (!target) problems.push(`Fn::GetAtt ${id}.${attribute}: no such resource`);
    else if (!target.Type.startsWith('Custom::') && !(attribute in (resourceSpec(target.Type)?.attributes ?? {})))
      problems.push(`Fn::GetAtt ${id}.${attribute}: ${target.Type} has no such attribute`);
  }
  return problems;
}

/**
 * The logical ids every resource depends on (Ref, Fn::GetAtt, `${…}` in Fn::Sub, DependsOn), and a cycle
 * among them if there is one: CloudFormation refuses such a template before creating anything.
 */
export function findDependencyCycle(template: TemplateLike): string[] | undefined {
  const ids = new Set(Object.keys(template.Resources));
  const references = (value: unknown): string[] => {
    if (Array.isArray(value)) return value.flatMap(references);
    if (typeof value !== 'object' || value === null) return [];
    return Object.entries(value).flatMap(([key, item]) => {
      if (key === 'Ref' && typeof item === 'string') return [item];
      if (key === 'Fn::GetAtt' && Array.isArray(item)) return [String(item[0])];
      if (key === 'Fn::Sub') {
        const text = Array.isArray(item) ? item[0] : item;
        const names = [...String(text).matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)].map((match) => match[1]!);
        return [...names, ...(Array.isArray(item) ? references(item[1]) : [])];
      }
      return references(item);
    });
  };
  const edges = new Map(
    Object.entries(template.Resources).map(([id, resource]) => [
      id,
      [...new Set([...references(resource.Properties ?? {}), ...[resource.DependsOn ?? []].flat().map(String)])].filter((to) =>
        ids.has(to),
      ),
    ]),
  );
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, trail: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, 'visiting');
    for (const to of edges.get(id) ?? []) {
      const cycle = visit(to, [...trail, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}
