// The pull form: an image reference and a policy, sent as StartPull; one row on wide screens, stacked on
// narrow ones. The daemon checks the reference (an invalid one comes back as a toast with its error name).
import {
  ActionGroup,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  TextInput,
} from '@patternfly/react-core';
import { _ } from '../gettext.js';
import { POLICIES, usePullForm } from '../hooks/use-pull-form.js';
import { BusyButton } from './busy-button.js';

/** The form that starts a pull. */
export function PullForm() {
  const form = usePullForm();
  return (
    <Form
      id="pull-form"
      className="bsp-pull-form"
      noValidate
      aria-label={_('Pull an image')}
      onSubmit={form.submit}
    >
      <FormGroup label={_('Image')} fieldId="pull-image" className="bsp-pull-image">
        <TextInput
          id="pull-image"
          name="image"
          type="text"
          value={form.image}
          onChange={(_event, value) => form.setImage(value)}
          placeholder="quay.io/fedora/fedora-bootc:42"
          autoComplete="off"
          spellCheck={false}
        />
      </FormGroup>
      <FormGroup label={_('Policy')} fieldId="pull-policy" className="bsp-pull-policy">
        <FormSelect
          id="pull-policy"
          name="policy"
          value={form.policy}
          onChange={(_event, value) => form.setPolicy(value)}
        >
          {POLICIES.map(([value, text]) => (
            <FormSelectOption key={value} value={value} label={_(text)} />
          ))}
        </FormSelect>
      </FormGroup>
      <ActionGroup className="bsp-pull-action">
        <BusyButton type="submit" id="pull-submit" isDisabled={!form.canPull} busy={form.busy}>
          {_('Pull')}
        </BusyButton>
      </ActionGroup>
    </Form>
  );
}
