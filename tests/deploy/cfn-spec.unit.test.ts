import { describe, expect, it } from 'vitest';
import { findDependencyCycle, validateAgainstSpec } from './cfn-spec.js';

/** A small valid template: an encrypted Aurora cluster and an output reading its endpoint. */
const template = () => ({
  Resources: {
    Cluster: {
      Type: 'AWS::RDS::DBCluster',
      DeletionPolicy: 'Snapshot',
      Properties: {
        Engine: 'aurora-postgresql',
        StorageEncrypted: true,
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2 },
        Tags: [{ Key: 'team', Value: 'shop' }],
      },
    },
    Migrations: { Type: 'Custom::Migrations', Properties: { ServiceToken: 'arn:aws:lambda:…', ServiceTimeout: 600, AnythingElse: 1 } },
  } as Record<string, any>,
  Outputs: { Endpoint: { Value: { 'Fn::GetAtt': ['Cluster', 'Endpoint.Address'] } } } as Record<string, any>,
});

describe('validateAgainstSpec (the CloudFormation resource specification of @aws-cdk/aws-service-spec)', () => {
  it('accepts a template whose types, property names and attributes all exist', () => {
    expect(validateAgainstSpec(template())).toEqual([]);
  });

  it('catches a misspelt property, at the top and nested, and names the known ones', () => {
    const misspelt = template();
    misspelt.Resources.Cluster.Properties.StorageEncryped = true;
    misspelt.Resources.Cluster.Properties.ServerlessV2ScalingConfiguration.MinCapacty = 0;
    misspelt.Resources.Cluster.Properties.Tags[0].Val = 'x';
    const problems = validateAgainstSpec(misspelt).sort();
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^Cluster\.Properties\.ServerlessV2ScalingConfiguration\.MinCapacty: no such property/);
    expect(problems[1]).toMatch(/^Cluster\.Properties\.StorageEncryped: no such property \(known: .*StorageEncrypted/);
    expect(problems[2]).toMatch(/^Cluster\.Properties\.Tags\[0\]\.Val: no such property/);
  });

  it('catches an unknown type, a missing required property, a misplaced resource key and a wrong attribute', () => {
    const broken = template();
    broken.Resources.Queue = { Type: 'AWS::SQS::Queueue', Properties: {} };
    broken.Resources.Migrations.Properties = { ServiceTimeout: 600 };
    broken.Resources.Cluster.DeletionPolicyy = 'Retain';
    broken.Outputs.Endpoint.Value['Fn::GetAtt'][1] = 'Endpont';
    expect(validateAgainstSpec(broken)).toEqual([
      'Cluster.DeletionPolicyy: not a resource attribute',
      'Migrations.Properties.ServiceToken: required, missing',
      'Queue: unknown resource type AWS::SQS::Queueue',
      'Fn::GetAtt Cluster.Endpont: AWS::RDS::DBCluster has no such attribute',
    ]);
  });
});

describe('findDependencyCycle', () => {
  it('finds resources that depend on each other through Ref, Fn::GetAtt, Fn::Sub or DependsOn', () => {
    const resources = {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string
      A: { Type: 'X', Properties: { P: { 'Fn::Sub': 'x-${B.Arn}' } } },
      B: { Type: 'X', Properties: { P: { Ref: 'C' } } },
      C: { Type: 'X', DependsOn: ['A'], Properties: { P: { 'Fn::GetAtt': ['D', 'Arn'] } } },
      D: { Type: 'X', Properties: {} },
    };
    expect(findDependencyCycle({ Resources: resources })).toEqual(['A', 'B', 'C', 'A']);
    expect(findDependencyCycle({ Resources: { ...resources, C: { Type: 'X', Properties: {} } } })).toBeUndefined();
  });
});
